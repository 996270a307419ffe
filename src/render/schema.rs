//! What a plan does to the table's structure, in words shared by every view: a column to
//! add, the constraints of a table to create, the columns left alone, and the notes on an
//! existing table's constraints. Plain text: each view escapes and styles it.

use crate::plan::Plan;
use crate::plan::schema::{AddColumn, LeftOut, Note};

/// The name of a field type as the spec writes it (`text`, `email`, ...).
pub fn type_name(kind: crate::spec::FieldType) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `column city TEXT (field city: text), nullable`.
pub fn add_column(plan: &Plan, a: &AddColumn) -> String {
    let field = plan.fields.get(a.field).map_or("?", |f| f.0.as_str());
    format!(
        "column {} {} (field {field}: {}), nullable",
        a.column,
        a.sql_type,
        type_name(a.kind)
    )
}

/// Why an added column is nullable, once under the columns.
pub const NULLABLE: &str = "new columns are nullable: rows the spec does not fill (unmanaged or \
                            kept rows) have no value for them; the rows below fill them";

/// The constraints a table to create gets, one line each: `unique index on email
/// (target.key)`, `foreign key customer_id → customers (id)`.
pub fn constraints(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((_, column)) = plan.schema.unique_key.and_then(|k| plan.fields.get(k)) {
        out.push(format!("unique index on {column} (`target.key`)"));
    }
    for fk in &plan.schema.foreign_keys {
        out.push(format!(
            "foreign key {} → {} ({})",
            fk.column, fk.table, fk.references
        ));
    }
    out
}

/// `columns the spec does not name are left alone: a, b`, when there are any.
pub fn unmanaged(plan: &Plan) -> Option<String> {
    let columns = &plan.schema.unmanaged_columns;
    (!columns.is_empty()).then(|| {
        format!(
            "{} the spec does not name {} left alone (never written, never dropped): {}",
            if columns.len() == 1 {
                "a column"
            } else {
                "columns"
            },
            if columns.len() == 1 { "is" } else { "are" },
            columns.join(", ")
        )
    })
}

/// A note on the table's constraints, in words.
pub fn note(plan: &Plan, note: &Note) -> String {
    let table = &plan.table;
    match note {
        Note::NoUniqueKey { column } => format!(
            "table {table} has no unique index on {column} (`target.key`): nothing stops \
             another program from writing two rows with one key. reconcile leaves an existing \
             table's constraints as they are; add one yourself if you want it."
        ),
        Note::NoForeignKey {
            column,
            table: parent,
            references,
        } => format!(
            "table {table} has no foreign key from {column} to {parent} ({references}): \
             the database does not check the references. reconcile leaves an existing table's \
             constraints as they are; add one yourself if you want it."
        ),
        Note::SimilarColumn { column, existing } => format!(
            "column {column} will be added, and table {table} has a column {existing} that \
             the spec does not name: if the field is meant to write {existing}, set \
             `column: {existing}` in the spec instead"
        ),
        Note::ForeignKeyLeftOut {
            column,
            table: parent,
            why,
        } => {
            let why = match why {
                LeftOut::NotInteger => {
                    "the field is not of type `integer`, as the key it receives is".to_string()
                }
                LeftOut::NotUnique => format!("{parent}'s key column is not unique on its own"),
                LeftOut::KeyType { data_type } => format!(
                    "{parent}'s key column is {}, which the new column (BIGINT) cannot refer to",
                    data_type.to_uppercase()
                ),
            };
            format!(
                "table {table} will be created without a foreign key from {column} to \
                 {parent}: {why}"
            )
        }
    }
}

/// The code of a note, for machines.
pub fn note_code(note: &Note) -> &'static str {
    match note {
        Note::NoUniqueKey { .. } => "no_unique_index",
        Note::NoForeignKey { .. } => "no_foreign_key",
        Note::SimilarColumn { .. } => "similar_column",
        Note::ForeignKeyLeftOut { .. } => "foreign_key_left_out",
    }
}
