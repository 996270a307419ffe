//! Keys let go before they are taken. A unique index on `target.key` is checked row by row on
//! SQLite and MySQL/MariaDB (and on PostgreSQL, unless it is deferred, as on the tables the
//! tool creates): two rows trading keys in one apply, or a new row taking the key of a row
//! deleted or renamed in the same apply, would break it half way, although the table as it
//! will be (which the plan checked) is fine. Such rows first let go of their key: it is set
//! to NULL, or, in a NOT NULL text column, to a placeholder no one else holds; then the
//! creates and updates write the final values, and the deletes remove the rows.
//!
//! Pure: which rows move aside, and to what, from the write set and the table as read in
//! the apply's transaction.

use std::collections::HashMap;

use super::Engine;
use super::writeset::WriteSet;
use crate::plan::Action;
use crate::spec::FieldType;
use crate::state::{CurrentState, key_text};
use crate::value::Value;

/// The rows that must let go of their key before the apply writes, each as (primary key, the
/// value its key column takes meanwhile), and the key field; `None` when there are none.
pub(crate) fn keys_aside<'a>(
    set: &WriteSet<'a>,
    current: &'a CurrentState,
    engine: Engine,
    not_null: &[bool],
) -> Option<(usize, Vec<(&'a Value, Value)>)> {
    let k = set.spec.key?;
    let column = &set.spec.fields[k].column;
    if !current.table_exists || !current.unique_column(column) {
        return None;
    }
    let kind = set.spec.fields[k].kind;
    // MySQL's default collations compare text without regard to case.
    let fold = |v: &Value| match (engine, v) {
        (Engine::MySql, Value::Text(s)) => s.to_lowercase(),
        _ => key_text(v),
    };
    // The rows that let go of their key in this apply anyway: renamed or deleted.
    let mut leaving: HashMap<String, &Value> = HashMap::new();
    for c in &set.plan.changes {
        let (Some(row), Some(before)) = (&c.row_key, &c.before) else {
            continue;
        };
        let leaves = match c.action {
            Action::Update => c.changed.contains(&k),
            Action::Delete => set.deletes.iter().any(|d| std::ptr::eq(*d, c)),
            _ => false,
        };
        if leaves && !before[k].is_null() {
            leaving.insert(fold(&before[k]), row);
        }
    }
    if leaving.is_empty() {
        return None;
    }
    // Those whose key another row is about to take.
    let mut aside: Vec<&Value> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for c in &set.plan.changes {
        let takes = match c.action {
            Action::Create => true,
            Action::Update => c.changed.contains(&k),
            _ => false,
        };
        let Some(after) = c.after.as_ref().filter(|_| takes) else {
            continue;
        };
        if after[k].is_null() {
            continue;
        }
        if let Some(&row) = leaving.get(&fold(&after[k]))
            && c.row_key.as_ref() != Some(row)
            && seen.insert(key_text(row))
        {
            aside.push(row);
        }
    }
    if aside.is_empty() {
        return None;
    }
    let text = matches!(kind, FieldType::Text | FieldType::Email | FieldType::Phone);
    let held = not_null.get(k).copied().unwrap_or(false);
    if held && !text {
        // No value is sure to be free in a NOT NULL column of numbers or dates: the apply
        // goes as the plan says, and the database has the last word.
        return None;
    }
    let rows = aside
        .into_iter()
        .map(|row| {
            let meanwhile = if held {
                // Short, to fit a narrow column; a control character, which no key holds.
                Value::Text(format!("\u{1}{}", key_text(row)))
            } else {
                Value::Null
            };
            (row, meanwhile)
        })
        .collect();
    Some((k, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Change, Plan, Reason};
    use crate::state::{CurrentRow, Unique};

    fn spec() -> crate::spec::compiled::Compiled {
        crate::spec::load::load_str(
            "version: 1\nresource: r\ntarget:\n  table: t\n  key: email\n  fields:\n    \
             name: {}\n    email: { type: email }\nsources:\n  s:\n    id: name\n    \
             inline: [{ name: x }]\n    fields: { name: name }\n",
            std::path::Path::new("spec.yaml"),
        )
        .unwrap()
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn change(
        action: Action,
        row: Option<i64>,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Change {
        Change {
            address: format!("{row:?}{after:?}"),
            action,
            reason: Reason::SourceChanged,
            row_key: row.map(Value::Int),
            before: before.map(|e| vec![text("n"), text(e)]),
            after: after.map(|e| vec![text("n"), text(e)]),
            changed: if action == Action::Update {
                vec![1]
            } else {
                Vec::new()
            },
            provenance: Vec::new(),
            members: Vec::new(),
            names: Vec::new(),
            conflicts: Default::default(),
            write_state: true,
            replaces: false,
        }
    }

    #[test]
    fn rows_trading_keys_or_giving_one_up_let_go_of_it_first() {
        let spec = spec();
        let mut plan = Plan::of_spec(&spec);
        plan.changes = vec![
            // 1 and 2 swap emails; 3 is deleted and a new row takes its email; 4 is renamed
            // to an email no one holds.
            change(Action::Update, Some(1), Some("a@x"), Some("b@x")),
            change(Action::Update, Some(2), Some("b@x"), Some("A@x")),
            change(Action::Delete, Some(3), Some("c@x"), None),
            change(Action::Create, None, None, Some("c@x")),
            change(Action::Update, Some(4), Some("d@x"), Some("e@x")),
        ];
        let current = CurrentState {
            table_exists: true,
            unique: vec![Unique {
                name: "u".into(),
                columns: vec!["email".into()],
            }],
            rows: (1..=4)
                .map(|i| CurrentRow {
                    key: Value::Int(i),
                    values: Vec::new(),
                    digest: None,
                })
                .collect(),
            ..CurrentState::default()
        };
        let set = WriteSet::new(&spec, &plan);
        let rows = |engine, not_null: &[bool]| {
            keys_aside(&set, &current, engine, not_null).map(|(k, rows)| {
                assert_eq!(k, 1);
                rows.into_iter()
                    .map(|(r, v)| (r.clone(), v))
                    .collect::<Vec<_>>()
            })
        };
        // On MySQL "A@x" is "a@x": 1 lets go too.
        assert_eq!(
            rows(Engine::MySql, &[false, false]),
            Some(vec![
                (Value::Int(2), Value::Null),
                (Value::Int(1), Value::Null),
                (Value::Int(3), Value::Null),
            ])
        );
        assert_eq!(
            rows(Engine::Sqlite, &[false, true]),
            Some(vec![
                (Value::Int(2), text("\u{1}2")),
                (Value::Int(3), text("\u{1}3")),
            ])
        );
        // Without a unique index on the key, nothing needs to move.
        let loose = CurrentState {
            unique: Vec::new(),
            ..current.clone()
        };
        assert!(keys_aside(&set, &loose, Engine::Sqlite, &[false, false]).is_none());
    }
}
