//! What the target table's own rules say about a plan, checked before anything is written:
//! columns the spec leaves out that new rows cannot do without, empty values for NOT NULL
//! columns, and unique constraints the desired state would break (two golden records with
//! the same unique email, or one clashing with a row the tool does not manage).
//!
//! The table is simulated after the plan: the rows it holds now, with updates applied and
//! creates added; every unique constraint whose columns the spec maps is then checked on it.

use std::collections::HashMap;

use super::Backend;
use super::read::{CurrentState, key_text};
use crate::error::{Error, Result, plural};
use crate::plan::{Action, Plan};
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::value::Value;

/// Text-like fields are written as `''` rather than NULL into NOT NULL columns (as Django
/// stores an empty CharField), and `''` reads back as empty.
pub fn blank_for_null(kind: FieldType) -> bool {
    matches!(kind, FieldType::Text | FieldType::Email | FieldType::Phone)
}

/// For each field: whether its column is NOT NULL in the existing table.
pub fn not_null_fields(spec: &Compiled, current: &CurrentState) -> Vec<bool> {
    spec.fields
        .iter()
        .map(|f| current.column(&f.column).is_some_and(|c| c.not_null))
        .collect()
}

/// The value a field will hold in the table once written.
fn stored(value: &Value, kind: FieldType, not_null: bool) -> Value {
    if value.is_null() && not_null && blank_for_null(kind) {
        Value::Text(String::new())
    } else {
        value.clone()
    }
}

/// Checks a plan against the table's constraints; every problem is reported at once.
pub fn check(spec: &Compiled, current: &CurrentState, plan: &Plan, backend: Backend) -> Result<()> {
    if !current.table_exists {
        return Ok(());
    }
    let mut problems: Vec<String> = Vec::new();
    let not_null = not_null_fields(spec, current);
    let creates = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .count();

    // Columns the spec does not map, that a new row cannot leave out.
    if creates > 0 {
        for c in &current.columns {
            let mapped = c.name.eq_ignore_ascii_case(&spec.primary_key)
                || spec
                    .fields
                    .iter()
                    .any(|f| f.column.eq_ignore_ascii_case(&c.name));
            if !mapped && c.not_null && !c.has_default && !c.generated {
                problems.push(format!(
                    "column {:?} is NOT NULL without a default and the spec does not map it, \
                     so the {} to create cannot be inserted; map a field to it (`column: {}`) \
                     or give the column a default",
                    c.name,
                    plural(creates, "row"),
                    c.name
                ));
            }
        }
    }

    // Empty values for NOT NULL columns that have no empty form.
    for c in &plan.changes {
        let (Action::Create | Action::Update, Some(after)) = (c.action, &c.after) else {
            continue;
        };
        for (i, f) in spec.fields.iter().enumerate() {
            let written = c.action == Action::Create || c.changed.contains(&i);
            if written && not_null[i] && after[i].is_null() && !blank_for_null(f.kind) {
                problems.push(format!(
                    "{}: field `{}` is empty but column {:?} is NOT NULL; give it a value in a \
                     source, or exclude the record",
                    plan.address(&c.address),
                    f.name,
                    f.column
                ));
            }
        }
    }

    // Unique constraints, on the table as it will be.
    let rows = if current.unique.is_empty() {
        Vec::new()
    } else {
        simulate(spec, current, plan)
    };
    for u in &current.unique {
        let Some(fields) = u
            .columns
            .iter()
            .map(|col| {
                spec.fields
                    .iter()
                    .position(|f| f.column.eq_ignore_ascii_case(col))
            })
            .collect::<Option<Vec<usize>>>()
        else {
            // A column the spec does not map keeps its value; duplicates there are not ours.
            continue;
        };
        let mut seen: HashMap<Vec<Value>, Vec<&str>> = HashMap::new();
        for (who, values) in &rows {
            let tuple: Vec<Value> = fields
                .iter()
                .map(|&f| {
                    let v = stored(&values[f], spec.fields[f].kind, not_null[f]);
                    // MySQL's default collations compare text without regard to case.
                    match (backend, v) {
                        (Backend::MySql, Value::Text(s)) => Value::Text(s.to_lowercase()),
                        (_, v) => v,
                    }
                })
                .collect();
            // NULLs never collide in a unique index.
            if tuple.iter().any(Value::is_null) {
                continue;
            }
            seen.entry(tuple).or_default().push(who);
        }
        let mut clashes: Vec<(Vec<Value>, Vec<&str>)> =
            seen.into_iter().filter(|(_, w)| w.len() > 1).collect();
        clashes.sort();
        for (tuple, who) in clashes {
            let values: Vec<String> = fields
                .iter()
                .zip(&tuple)
                .map(|(&f, v)| {
                    let sensitive = spec.sensitive.get(f) == Some(&true);
                    format!(
                        "{} = {}",
                        spec.fields[f].name,
                        crate::render::safe::value(v, sensitive, false)
                    )
                })
                .collect();
            problems.push(format!(
                "unique constraint {:?} on ({}) would be violated: {} would each have {}; give \
                 them different values, link them with `match.same`, or exclude one",
                u.name,
                u.columns.join(", "),
                who.join(", "),
                values.join(", ")
            ));
        }
    }

    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Plan {
        message: format!(
            "it would break the rules of table {:?} ({}):\n  - {}",
            spec.table,
            plural(problems.len(), "problem"),
            problems.join("\n  - ")
        ),
        help: Some("nothing was written".into()),
    })
}

/// Every row the table will hold after the plan, each named for messages.
fn simulate<'a>(
    spec: &Compiled,
    current: &'a CurrentState,
    plan: &'a Plan,
) -> Vec<(String, &'a [Value])> {
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut rows: Vec<(String, &[Value])> = current
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let key = key_text(&r.key);
            by_key.insert(key.clone(), i);
            (
                format!("the existing row {} = {key}", spec.primary_key),
                r.values.as_slice(),
            )
        })
        .collect();
    for c in &plan.changes {
        let Some(after) = &c.after else { continue };
        let name = plan.address(&c.address);
        match c.action {
            Action::Create => rows.push((name, after)),
            Action::Update | Action::NoOp => {
                if let Some(&i) = c.row_key.as_ref().and_then(|k| by_key.get(&key_text(k))) {
                    rows[i] = (name, after);
                }
            }
            Action::Delete => {}
        }
    }
    for c in &plan.changes {
        if c.action == Action::Delete
            && let Some(&i) = c.row_key.as_ref().and_then(|k| by_key.get(&key_text(k)))
        {
            rows[i].1 = &[];
        }
    }
    rows.retain(|(_, v)| !v.is_empty());
    rows
}
