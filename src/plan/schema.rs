//! Changes to the target table's structure, planned and shown like rows: the columns that
//! fields added to the spec need (added, nullable, never dropped), the constraints a table
//! the tool creates gets (a unique index on `target.key`, a foreign key per reference), and
//! notes on an existing table's constraints, which are never altered. Pure: what the
//! database holds comes in as [`CurrentState`].
//!
//! A new column is nullable: the rows already in the table (unmanaged rows, rows kept after
//! their record left the sources) have no value for it, and a NOT NULL column without a
//! default cannot be added to a table that holds rows (MySQL would fill it with `''` or `0`
//! without a word). `required` is enforced on the records instead, as it always is.

use serde::{Deserialize, Serialize};

use super::{Action, Plan};
use crate::db::Engine;
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::state::CurrentState;

/// What a plan does to the table's structure, and what it notes about it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Columns to add to the existing table, in field order: `ALTER TABLE … ADD COLUMN`,
    /// before the rows are written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_columns: Vec<AddColumn>,
    /// For a table to create: the field (`target.key`) whose column gets a unique index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_key: Option<usize>,
    /// For a table to create: its foreign keys, one per reference whose table allows one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// What is not done, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// Columns of the existing table that no field maps (its primary key and the
    /// soft-delete column aside): never written, never dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged_columns: Vec<String>,
}

impl Schema {
    /// Whether the plan changes the table's structure beyond creating it.
    pub fn alters(&self) -> bool {
        !self.add_columns.is_empty()
    }
}

/// A column a field needs and the existing table lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddColumn {
    /// Index of the field.
    pub field: usize,
    pub column: String,
    /// The field's type.
    pub kind: FieldType,
    /// The column's type on the database planned against ([`crate::db::Dialect::column_type`]);
    /// shown only: the apply takes it from the field's type again.
    pub sql_type: String,
}

/// A foreign key of a table to create: `column` refers to the primary key `references` of
/// `table`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Index of the reference field.
    pub field: usize,
    pub column: String,
    pub table: String,
    pub references: String,
}

/// Something about the table's constraints the plan does not change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Note {
    /// The existing table has no unique index (or primary key) on the key column alone.
    NoUniqueKey { column: String },
    /// The existing table has no foreign key on a reference column.
    NoForeignKey {
        column: String,
        table: String,
        references: String,
    },
    /// A column to add is close to a column the spec does not name: perhaps the field's
    /// `column:` was renamed or misspelt, and the existing column is meant.
    SimilarColumn { column: String, existing: String },
    /// The table to create gets no foreign key for a reference.
    ForeignKeyLeftOut {
        column: String,
        table: String,
        why: LeftOut,
    },
}

/// Why a table to create gets no foreign key for a reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOut {
    /// The reference field is not of type `integer`, as the keys the tool creates are.
    NotInteger,
    /// The referenced table exists and its key column is not unique on its own.
    NotUnique,
    /// The referenced table's key is not an integer column (or, on MySQL/MariaDB, not a
    /// BIGINT, which a foreign key from a BIGINT column needs): its declared type.
    KeyType { data_type: String },
}

/// The structure part of a plan of `spec` against `current`: columns to add, the unique
/// index of a table to create, columns left alone, and a note when an existing table's key
/// column is not unique. References are decided with the plans of their resources
/// ([`references`]).
pub fn of(spec: &Compiled, current: &CurrentState) -> Schema {
    let mut schema = Schema {
        add_columns: current
            .missing_columns
            .iter()
            .map(|m| AddColumn {
                field: m.field,
                column: spec.fields[m.field].column.clone(),
                kind: spec.fields[m.field].kind,
                sql_type: m.sql_type.clone(),
            })
            .collect(),
        ..Schema::default()
    };
    if !current.table_exists {
        schema.unique_key = spec.key;
        return schema;
    }
    schema.unmanaged_columns = current
        .columns
        .iter()
        .filter(|c| {
            let named = |n: &str| c.name.eq_ignore_ascii_case(n);
            !named(&spec.primary_key)
                && !spec.fields.iter().any(|f| named(&f.column))
                && !spec
                    .soft_delete
                    .as_ref()
                    .is_some_and(|sd| named(&sd.column))
        })
        .map(|c| c.name.clone())
        .collect();
    for a in &schema.add_columns {
        let others = schema.unmanaged_columns.iter().map(String::as_str);
        if let Some(existing) = crate::suggest::did_you_mean(&a.column, others) {
            schema.notes.push(Note::SimilarColumn {
                column: a.column.clone(),
                existing,
            });
        }
    }
    if let Some(k) = spec.key {
        let column = &spec.fields[k].column;
        if !current.unique_column(column) {
            schema.notes.push(Note::NoUniqueKey {
                column: column.clone(),
            });
        }
    }
    schema
}

/// A resource planned before this one: its spec, its plan and what its table holds.
pub struct Parent<'a> {
    pub spec: &'a Compiled,
    pub plan: &'a Plan,
    pub current: &'a CurrentState,
}

/// Decides the foreign keys of references: a table to create gets one per reference whose
/// table is created in the same apply, or exists with its key column unique; an existing
/// table lacking one gets a note. `engine` is the database planned against.
pub fn references(
    spec: &Compiled,
    schema: &mut Schema,
    current: &CurrentState,
    parents: &[Parent<'_>],
    engine: Engine,
) {
    for (f, field) in spec.fields.iter().enumerate() {
        let Some(reference) = &field.reference else {
            continue;
        };
        let Some(parent) = parents
            .iter()
            .find(|p| p.spec.resource == reference.resource)
        else {
            continue;
        };
        let (table, key) = (&parent.spec.table, &parent.spec.primary_key);
        if current.table_exists {
            let has = current.foreign_keys.iter().any(|fk| {
                fk.column.eq_ignore_ascii_case(&field.column)
                    && fk.table.eq_ignore_ascii_case(table)
                    && fk
                        .references
                        .as_deref()
                        .is_none_or(|r| r.eq_ignore_ascii_case(key))
            });
            if !has {
                schema.notes.push(Note::NoForeignKey {
                    column: field.column.clone(),
                    table: table.clone(),
                    references: key.clone(),
                });
            }
            continue;
        }
        let left_out = if field.kind != FieldType::Integer {
            Some(LeftOut::NotInteger)
        } else if parent.plan.create_table || !parent.current.table_exists {
            None
        } else if !parent.current.unique_column(key) {
            Some(LeftOut::NotUnique)
        } else {
            let data_type = parent
                .current
                .column(key)
                .map(|c| c.data_type.to_ascii_lowercase())
                .unwrap_or_default();
            let fits = match engine {
                // A foreign key between integer columns of different sizes is refused.
                Engine::MySql => data_type == "bigint",
                _ => parent.current.integer_key,
            };
            (!fits).then_some(LeftOut::KeyType { data_type })
        };
        match left_out {
            None => schema.foreign_keys.push(ForeignKey {
                field: f,
                column: field.column.clone(),
                table: table.clone(),
                references: key.clone(),
            }),
            Some(why) => schema.notes.push(Note::ForeignKeyLeftOut {
                column: field.column.clone(),
                table: table.clone(),
                why,
            }),
        }
    }
}

/// Whether the table has (or will have, once created) a foreign key on field `f`'s column
/// to `table`.
pub fn has_foreign_key(
    spec: &Compiled,
    plan: &Plan,
    current: &CurrentState,
    f: usize,
    table: &str,
) -> bool {
    if plan.create_table {
        return plan.schema.foreign_keys.iter().any(|fk| fk.field == f);
    }
    let column = &spec.fields[f].column;
    current
        .foreign_keys
        .iter()
        .any(|fk| fk.column.eq_ignore_ascii_case(column) && fk.table.eq_ignore_ascii_case(table))
}

/// Rows of a child table that would still refer to a parent row the parent's plan deletes:
/// (the child's row, as its address or key, and the parent's address). A foreign key makes
/// the database refuse the delete, so the plan is refused first, naming both.
pub fn dangling(
    spec: &Compiled,
    plan: &Plan,
    current: &CurrentState,
    parents: &[Parent<'_>],
) -> Vec<(String, String)> {
    use crate::state::key_text;
    use std::collections::HashMap;
    let mut out = Vec::new();
    for (f, field) in spec.fields.iter().enumerate() {
        let Some(reference) = &field.reference else {
            continue;
        };
        let Some(parent) = parents
            .iter()
            .find(|p| p.spec.resource == reference.resource)
        else {
            continue;
        };
        if !has_foreign_key(spec, plan, current, f, &parent.spec.table) {
            continue;
        }
        // The parent rows deleted (soft deletes keep the row), by address and by key.
        let mut deleted: HashMap<String, String> = HashMap::new();
        for c in &parent.plan.changes {
            if c.action == Action::Delete && c.reason != super::Reason::MissingSoft {
                let address = parent.plan.address(&c.address);
                if let Some(k) = &c.row_key {
                    deleted.insert(key_text(k), address.clone());
                }
                deleted.insert(address.clone(), address);
            }
        }
        if deleted.is_empty() {
            continue;
        }
        // What the child's plan does to each of its rows, by key.
        let mut after: HashMap<String, Option<&crate::value::Value>> = HashMap::new();
        for c in &plan.changes {
            if let Some(k) = &c.row_key {
                let value = match c.action {
                    Action::Delete if c.reason != super::Reason::MissingSoft => None,
                    _ => c.after.as_ref().map(|a| &a[f]),
                };
                after.insert(key_text(k), value);
            }
        }
        for row in &current.rows {
            let key = key_text(&row.key);
            let value = match after.get(&key) {
                Some(v) => *v,
                None => Some(&row.values[f]),
            };
            let Some(v) = value.filter(|v| !v.is_null()) else {
                continue;
            };
            if let Some(parent_address) = deleted.get(&key_text(v)) {
                let who = plan
                    .changes
                    .iter()
                    .find(|c| c.row_key.as_ref().map(key_text).as_deref() == Some(&key))
                    .map(|c| plan.address(&c.address))
                    .or_else(|| {
                        plan.missing
                            .iter()
                            .find(|m| m.row_key == key)
                            .map(|m| plan.address(&m.address))
                    })
                    .unwrap_or_else(|| format!("the row {} = {key}", spec.primary_key));
                out.push((who, parent_address.clone()));
            }
        }
    }
    out
}

/// The columns of the table that changed since `plan` was made against it, in words: a
/// column the plan adds that is there now, or a mapped column that is gone.
pub fn columns_changed(plan: &Plan, current: &CurrentState) -> Vec<String> {
    let planned = |f: usize| plan.schema.add_columns.iter().any(|a| a.field == f);
    let mut out = Vec::new();
    for (f, (_, column)) in plan.fields.iter().enumerate() {
        match (planned(f), current.lacks(f)) {
            (true, false) => out.push(format!("column {column} was added")),
            (false, true) => out.push(format!("column {column} was dropped")),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Change, Reason};
    use crate::state::{Column, CurrentRow, ForeignKey as TableKey, MissingColumn, StateRow};
    use crate::value::Value;

    fn load(text: &str) -> Compiled {
        crate::spec::load::load_str(text, std::path::Path::new("spec.yaml")).expect("loads")
    }

    /// Customers keyed by email, and their branches, each pointing to a customer by name.
    fn specs(customer_type: &str) -> (Compiled, Compiled) {
        let customers = load(
            "version: 1\nresource: customers\ntarget:\n  table: customers\n  key: email\n  \
             fields:\n    name: {}\n    email: { type: email }\nsources:\n  s:\n    id: name\n    \
             inline: [{ name: x }]\n    fields: { name: name }\n",
        );
        let branches = load(&format!(
            "version: 1\nresource: branches\ntarget:\n  table: branches\n  fields:\n    \
             name: {{}}\n    customer: {{ type: {customer_type}, ref: customers, by: name, \
             column: customer_id }}\nsources:\n  s:\n    id: name\n    inline: [{{ name: x }}]\n    \
             fields: {{ name: name }}\n"
        ));
        (customers, branches)
    }

    fn column(name: &str, data_type: &str) -> Column {
        Column {
            name: name.into(),
            data_type: data_type.into(),
            not_null: false,
            has_default: false,
            generated: false,
            max_length: None,
            scale: None,
        }
    }

    /// An existing table with these columns, `id` its primary key.
    fn table(columns: &[(&str, &str)]) -> CurrentState {
        CurrentState {
            table_exists: true,
            integer_key: true,
            columns: columns.iter().map(|(n, t)| column(n, t)).collect(),
            primary_key_columns: vec!["id".into()],
            ..CurrentState::default()
        }
    }

    #[test]
    fn an_existing_table_lacking_a_column_gets_it_and_keeps_its_others() {
        let (customers, _) = specs("integer");
        let mut current = table(&[("id", "integer"), ("name", "text"), ("mail", "text")]);
        current.missing_columns = vec![MissingColumn {
            field: 1,
            sql_type: "TEXT".into(),
        }];
        let schema = of(&customers, &current);
        assert_eq!(
            schema.add_columns,
            [AddColumn {
                field: 1,
                column: "email".into(),
                kind: FieldType::Email,
                sql_type: "TEXT".into()
            }]
        );
        assert!(schema.alters());
        assert_eq!(schema.unmanaged_columns, ["mail"]);
        assert_eq!(
            schema.unique_key, None,
            "an existing table is never given one"
        );
        assert_eq!(
            schema.notes,
            [
                Note::SimilarColumn {
                    column: "email".into(),
                    existing: "mail".into()
                },
                Note::NoUniqueKey {
                    column: "email".into()
                }
            ]
        );
        current.unique = vec![crate::state::Unique {
            name: "u".into(),
            columns: vec!["EMAIL".into()],
        }];
        assert!(
            !of(&customers, &current).notes.contains(&Note::NoUniqueKey {
                column: "email".into()
            })
        );
    }

    #[test]
    fn a_table_to_create_gets_a_unique_key_and_foreign_keys_where_they_can_hold() {
        let (customers, branches) = specs("integer");
        let none = CurrentState::empty();
        assert_eq!(of(&customers, &none).unique_key, Some(1));

        // The customers table is created in the same apply: a foreign key.
        let mut parent_plan = Plan::of_spec(&customers);
        parent_plan.create_table = true;
        let parent = |plan, current| Parent {
            spec: &customers,
            plan,
            current,
        };
        let mut schema = of(&branches, &none);
        references(
            &branches,
            &mut schema,
            &none,
            &[parent(&parent_plan, &none)],
            Engine::Postgres,
        );
        assert_eq!(
            schema.foreign_keys,
            [ForeignKey {
                field: 1,
                column: "customer_id".into(),
                table: "customers".into(),
                references: "id".into()
            }]
        );

        // It exists with an INT key: PostgreSQL refers to it, MySQL cannot from a BIGINT.
        let existing = table(&[("id", "int"), ("name", "text"), ("email", "text")]);
        let kept = Plan::of_spec(&customers);
        for (engine, keys) in [(Engine::Postgres, 1), (Engine::MySql, 0)] {
            let mut schema = of(&branches, &none);
            references(
                &branches,
                &mut schema,
                &none,
                &[parent(&kept, &existing)],
                engine,
            );
            assert_eq!(schema.foreign_keys.len(), keys, "{engine:?}");
            assert_eq!(schema.notes.len(), 1 - keys, "{engine:?}");
        }
        // Its key column is not unique: no foreign key can refer to it.
        let mut loose = existing.clone();
        loose.primary_key_columns.clear();
        let mut schema = of(&branches, &none);
        references(
            &branches,
            &mut schema,
            &none,
            &[parent(&kept, &loose)],
            Engine::Sqlite,
        );
        assert_eq!(
            schema.notes,
            [Note::ForeignKeyLeftOut {
                column: "customer_id".into(),
                table: "customers".into(),
                why: LeftOut::NotUnique
            }]
        );

        // A reference field of type text cannot hold the integer key.
        let (_, by_text) = specs("text");
        let mut schema = of(&by_text, &none);
        references(
            &by_text,
            &mut schema,
            &none,
            &[parent(&parent_plan, &none)],
            Engine::Sqlite,
        );
        assert!(schema.foreign_keys.is_empty());
        assert!(matches!(
            schema.notes[0],
            Note::ForeignKeyLeftOut {
                why: LeftOut::NotInteger,
                ..
            }
        ));
    }

    #[test]
    fn an_existing_table_without_its_foreign_key_is_noted() {
        let (customers, branches) = specs("integer");
        let child = table(&[
            ("id", "integer"),
            ("name", "text"),
            ("customer_id", "integer"),
        ]);
        let parent_plan = Plan::of_spec(&customers);
        let parent_table = table(&[("id", "integer")]);
        let parents = [Parent {
            spec: &customers,
            plan: &parent_plan,
            current: &parent_table,
        }];
        let mut schema = of(&branches, &child);
        references(&branches, &mut schema, &child, &parents, Engine::Sqlite);
        assert_eq!(
            schema.notes,
            [Note::NoForeignKey {
                column: "customer_id".into(),
                table: "customers".into(),
                references: "id".into()
            }]
        );
        let mut keyed = child.clone();
        keyed.foreign_keys = vec![TableKey {
            column: "customer_id".into(),
            table: "customers".into(),
            references: None,
        }];
        let mut schema = of(&branches, &keyed);
        references(&branches, &mut schema, &keyed, &parents, Engine::Sqlite);
        assert!(schema.notes.is_empty(), "{:?}", schema.notes);
    }

    #[test]
    fn a_deleted_parent_still_referred_to_is_found() {
        let (customers, branches) = specs("integer");
        let mut parent_plan = Plan::of_spec(&customers);
        parent_plan.changes.push(Change {
            address: "acme".into(),
            action: Action::Delete,
            reason: Reason::Missing,
            row_key: Some(Value::Int(7)),
            before: None,
            after: None,
            changed: Vec::new(),
            provenance: Vec::new(),
            members: Vec::new(),
            names: Vec::new(),
            conflicts: Default::default(),
            write_state: true,
            replaces: false,
        });
        let parent_table = table(&[("id", "integer")]);
        let parents = [Parent {
            spec: &customers,
            plan: &parent_plan,
            current: &parent_table,
        }];
        let mut child = table(&[
            ("id", "integer"),
            ("name", "text"),
            ("customer_id", "integer"),
        ]);
        child.foreign_keys = vec![TableKey {
            column: "customer_id".into(),
            table: "customers".into(),
            references: Some("id".into()),
        }];
        let row = |key: i64, to: Value| CurrentRow {
            key: Value::Int(key),
            values: vec![Value::Text(format!("b{key}")), to],
            digest: None,
        };
        // Branch 1 points to acme by address (managed), branch 2 by its key (unmanaged),
        // branch 3 elsewhere.
        child.rows = vec![
            row(1, Value::Text(r#"customers["acme"]"#.into())),
            row(2, Value::Int(7)),
            row(3, Value::Int(8)),
        ];
        child.state = vec![StateRow::new(["b1", "1", "[]", "h"], true)];
        let mut plan = Plan::of_spec(&branches);
        plan.missing.push(crate::plan::Missing {
            address: "b1".into(),
            row_key: "1".into(),
            members: Vec::new(),
            name: None,
        });
        let found = dangling(&branches, &plan, &child, &parents);
        assert_eq!(
            found,
            [
                (
                    r#"branches["b1"]"#.to_string(),
                    r#"customers["acme"]"#.to_string()
                ),
                (
                    "the row id = 2".to_string(),
                    r#"customers["acme"]"#.to_string()
                )
            ]
        );
        // Without a foreign key the database does not object.
        child.foreign_keys.clear();
        assert!(dangling(&branches, &plan, &child, &parents).is_empty());
    }
}
