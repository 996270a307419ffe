//! `reconcile import ADDRESS KEY`: an existing row of the table, found by its `target.key`
//! value or its primary key, becomes the row of a golden record the spec declares, so the next
//! plan updates it (or finds nothing to change) instead of creating a second one.
//!
//! As in Terraform, the address must be one the configuration declares: a golden record of the
//! spec that the state does not hold yet (an address `reconcile plan` would create, or adopt a
//! row for). The entry written is what an apply would write for that record (its members)
//! bound to the row, with the hash of the values the row holds now: the next plan pairs the
//! record with the row through the state, as for any managed row, and reports the fields it
//! would change as differences from the spec, not as changes made outside reconcile.

use std::time::Duration;

use super::state::{Scope, entry_of_row, read_all, refused, rows_by_key, taken_error, write_edits};
use crate::db::state_edit::{NewEntry, StateEdit};
use crate::error::Result;
use crate::fingerprint::values_hash;
use crate::plan::{self, Action, Plan, address};
use crate::spec::compiled::Compiled;
use crate::state::{CurrentState, StateRow, key_text, members_json};
use crate::value::Value;

/// What `import` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub resource: String,
    pub table: String,
    /// The key inside `resource["…"]`.
    pub address: String,
    /// The row's primary key, as text.
    pub row_key: String,
    /// The `target.key` value the row was found by; `None` when it was found by its
    /// primary key.
    pub found_by: Option<FoundBy>,
    pub members: Vec<String>,
    /// What the next plan does with the row; `None` when the resource is planned with others
    /// and this was not worked out.
    pub next: Option<NextPlan>,
}

/// What the plan after an import does with the row.
#[derive(Debug, Clone, PartialEq)]
pub struct NextPlan {
    /// The fields it updates (none: nothing to do).
    pub changed: Vec<String>,
    /// Every field the row is known by changes: the plan shows a replacement, which apply
    /// writes only with `--allow-replace`.
    pub replaces: bool,
}

/// A `target.key` value a row was found by.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundBy {
    pub field: String,
    pub value: Value,
    /// The field is sensitive: its value is masked wherever it is shown.
    pub sensitive: bool,
}

/// Binds the row the table holds under `key` to the golden record at `wanted`.
pub fn import(
    scope: Scope<'_>,
    wanted: &str,
    key: &str,
    lock_timeout: Duration,
) -> Result<Imported> {
    let (i, addr) = super::state::locate(scope.specs, wanted)?;
    let spec = &scope.specs[i];
    super::state::valid_key(&spec.resource, &addr)?;
    let current = read_all(scope, &[i])?.remove(0);
    if let Some(taken) = current.state.iter().find(|s| s.address == addr) {
        return Err(taken_error(spec, taken));
    }
    let (ri, found_by) = find_row(spec, &current, key)?;
    let row = &current.rows[ri];
    let row_key = key_text(&row.key);
    if let Some(managed) = entry_of_row(&current, &row_key) {
        let at = address::display(&spec.resource, &managed.address);
        return Err(refused(
            format!(
                "row {row_key} of table {:?} is already managed, at {at}",
                spec.table
            ),
            Some(format!(
                "to give it this address instead, run `reconcile state mv {at} {}`",
                address::display(&spec.resource, &addr)
            )),
        ));
    }
    let (plan, resolved) = planned(scope, i, &current)?;
    let Some(change) = plan
        .changes
        .iter()
        .find(|c| c.address == addr && c.action != Action::Delete)
    else {
        return Err(not_declared(spec, &plan, &current, &addr));
    };
    let entry = NewEntry {
        address: addr.clone(),
        row_key: row_key.clone(),
        members: members_json(&change.members),
        hash: values_hash(&row.values),
    };
    // The plan after the import, from what was already resolved: what the row becomes.
    let next = resolved.map(|resolved| {
        let mut after = current.clone();
        after.state.push(StateRow::new(
            [&entry.address, &entry.row_key, &entry.members, &entry.hash],
            true,
        ));
        let next = plan::plan(spec, &resolved, &after);
        let change = next.changes.iter().find(|c| c.address == addr);
        debug_assert!(
            change.is_some_and(|c| c.row_key.as_ref() == Some(&row.key)),
            "the imported record is paired with its row"
        );
        NextPlan {
            changed: change
                .map(|c| {
                    c.changed
                        .iter()
                        .map(|&f| spec.fields[f].name.clone())
                        .collect()
                })
                .unwrap_or_default(),
            replaces: change.is_some_and(|c| c.replaces),
        }
    });
    let edit = StateEdit {
        spec,
        remove: Vec::new(),
        write: vec![entry],
        fingerprint: current.fingerprint.clone(),
    };
    write_edits(scope, &[edit], lock_timeout, "import")?;
    Ok(Imported {
        resource: spec.resource.clone(),
        table: spec.table.clone(),
        address: addr,
        row_key,
        found_by,
        members: change.members.iter().map(ToString::to_string).collect(),
        next,
    })
}

/// The plan of spec `i` against what was read, to find its golden records: planned alone
/// when it stands alone (then also what was resolved, to plan again after the import), or
/// with the resources it depends on.
fn planned(
    scope: Scope<'_>,
    i: usize,
    current: &CurrentState,
) -> Result<(Plan, Option<crate::pipeline::Resolved>)> {
    let spec = &scope.specs[i];
    if !super::plan::needs_group(std::slice::from_ref(spec), &[]) {
        let resolved = crate::pipeline::resolve(spec)?;
        return Ok((plan::plan(spec, &resolved, current), Some(resolved)));
    }
    // The guards judge deletes, which an import does not make.
    let options = plan::Options {
        allow_mass_delete: true,
        allow_replace: true,
        ..plan::Options::default()
    };
    let planned = super::plan::group(
        scope.specs.to_vec(),
        scope.url,
        super::plan::GroupRequest {
            options,
            targets: std::slice::from_ref(&spec.resource),
            lock: None,
            evidence: false,
        },
    )?;
    let plan = planned
        .plans
        .into_iter()
        .find(|p| p.resource == spec.resource)
        .expect("the targeted resource is planned");
    Ok((plan, None))
}

/// The row the table holds under `key`: its `target.key` value (read as the field's type
/// reads source values) or else its primary key.
fn find_row(
    spec: &Compiled,
    current: &CurrentState,
    key: &str,
) -> Result<(usize, Option<FoundBy>)> {
    if !current.table_exists {
        return Err(refused(
            format!(
                "table {:?} does not exist yet: there is no row to import",
                spec.table
            ),
            Some("`reconcile apply` creates the table and its rows".into()),
        ));
    }
    let by_field = spec.key.and_then(|k| {
        let field = &spec.fields[k];
        let raw = serde_json::Value::String(key.to_string());
        let value = crate::normalize::normalize_value(field, &raw, &mut Default::default())
            .ok()
            .filter(|v| !v.is_null())?;
        let sensitive = spec.sensitive.get(k).copied().unwrap_or(false);
        Some((k, value, sensitive))
    });
    if let Some((k, value, sensitive)) = by_field {
        let mut found = current
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.values[k] == value);
        if let Some((ri, _)) = found.next() {
            if found.next().is_some() {
                return Err(refused(
                    format!(
                        "several rows of table {:?} hold {} = {}",
                        spec.table,
                        spec.fields[k].name,
                        crate::render::safe::value(&value, sensitive, false)
                    ),
                    Some("name the row by its primary key instead".into()),
                ));
            }
            let field = spec.fields[k].name.clone();
            return Ok((
                ri,
                Some(FoundBy {
                    field,
                    value,
                    sensitive,
                }),
            ));
        }
    }
    if let Some(&ri) = rows_by_key(current).get(key) {
        return Ok((ri, None));
    }
    Err(no_row(spec, current, key))
}

/// The refusal of a key no row holds, with the closest key there is when it may be shown.
fn no_row(spec: &Compiled, current: &CurrentState, key: &str) -> crate::error::Error {
    let shown = crate::render::safe::term(key);
    let (message, mut help) = match spec.key {
        Some(k) => (
            format!(
                "table {:?} has no row whose {} or primary key ({}) is {shown:?}",
                spec.table, spec.fields[k].name, spec.primary_key
            ),
            format!(
                "KEY is the row's {} (`target.key`) or its primary key",
                spec.fields[k].name
            ),
        ),
        None => (
            format!(
                "table {:?} has no row whose primary key ({}) is {shown:?}",
                spec.table, spec.primary_key
            ),
            "KEY is the row's primary key (the spec has no `target.key`)".to_string(),
        ),
    };
    let open = spec
        .key
        .filter(|&k| !spec.sensitive.get(k).copied().unwrap_or(false));
    let keys: Vec<String> = current
        .rows
        .iter()
        .flat_map(|r| {
            let natural = open.and_then(|k| r.values[k].as_str().map(str::to_string));
            natural.into_iter().chain([key_text(&r.key)])
        })
        .collect();
    if let Some(s) = crate::suggest::did_you_mean(key, keys.iter().map(String::as_str)) {
        help = format!("did you mean {:?}? {help}", crate::render::safe::term(&s));
    }
    refused(message, Some(help))
}

/// The refusal of an address that is no golden record of the spec, or already managed.
fn not_declared(
    spec: &Compiled,
    plan: &Plan,
    current: &CurrentState,
    addr: &str,
) -> crate::error::Error {
    let wanted = address::display(&spec.resource, addr);
    let open: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .filter(|c| !current.state.iter().any(|s| s.address == c.address))
        .map(|c| address::display(&spec.resource, &c.address))
        .collect();
    let hint = match crate::suggest::did_you_mean(&wanted, open.iter().map(String::as_str)) {
        Some(s) => format!("did you mean {s}? "),
        None => String::new(),
    };
    refused(
        format!(
            "the spec declares no golden record at {}",
            crate::render::safe::term(&wanted)
        ),
        Some(format!(
            "{hint}import binds a row to an address the spec declares: one `reconcile plan` \
             shows as a record to create (or a row to adopt)"
        )),
    )
}
