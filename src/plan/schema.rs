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
