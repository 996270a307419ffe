//! What the target table's own rules say about a plan, checked before anything is written:
//! columns the spec leaves out that new rows cannot do without, empty values for NOT NULL
//! columns, and unique constraints the desired state would break (two golden records with
//! the same unique email, or one clashing with a row the tool does not manage).
//!
//! The table is simulated after the plan: the rows it holds now, with updates applied and
//! creates added; every unique constraint whose columns the spec maps is then checked on it.
//!
//! Before any of that, when the table is read, each mapped column's type is checked against
//! its field's type ([`column_types`]): a database converts what it is given into the column's
//! type without a word (MariaDB stores the text "0012" in an INT column as 12), and such a
//! value never reads back as written. Widths and scales are checked against the values to be
//! written here, with the plan.

use std::collections::HashMap;

use super::Engine;
use crate::error::{Error, Result, plural};
use crate::plan::{Action, Plan};
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::state::{Column, CurrentState, key_text};
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
pub fn check(spec: &Compiled, current: &CurrentState, plan: &Plan, engine: Engine) -> Result<()> {
    let problems = if current.table_exists {
        let not_null = not_null_fields(spec, current);
        let mut problems = unmapped_columns(spec, current, plan);
        problems.extend(empty_values(spec, plan, &not_null));
        problems.extend(widths(spec, current, plan));
        problems.extend(unrestorable(spec, current, plan));
        problems.extend(unique_clashes(spec, current, plan, engine, &not_null));
        problems
    } else {
        created_key_clashes(spec, plan, engine)
    };
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

/// The unique index a table to create gets on `target.key`, on the rows it will hold. Keys
/// that differ are unique already (the guards refuse two golden records with one key), but
/// MySQL's default collations compare text without regard to case: `Acme` and `ACME` would
/// break the index at apply.
fn created_key_clashes(spec: &Compiled, plan: &Plan, engine: Engine) -> Vec<String> {
    let Some(k) = plan.schema.unique_key.filter(|_| engine == Engine::MySql) else {
        return Vec::new();
    };
    let column = spec.fields[k].column.clone();
    let table = CurrentState {
        unique: vec![crate::state::Unique {
            // As MySQL names the index of `UNIQUE (column)`.
            name: column.clone(),
            columns: vec![column],
        }],
        ..CurrentState::default()
    };
    let not_null: Vec<bool> = spec.fields.iter().map(|f| f.required).collect();
    unique_clashes(spec, &table, plan, engine, &not_null)
}

/// Columns the spec does not map, that a new row cannot leave out.
fn unmapped_columns(spec: &Compiled, current: &CurrentState, plan: &Plan) -> Vec<String> {
    let mut problems = Vec::new();
    let creates = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .count();
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
    problems
}

/// Empty values for NOT NULL columns that have no empty form.
fn empty_values(spec: &Compiled, plan: &Plan, not_null: &[bool]) -> Vec<String> {
    let mut problems = Vec::new();
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
    problems
}

/// Rows restored from a soft delete need the soft-delete column cleared: to NULL, or for a
/// NOT NULL column of a boolean soft-delete value, to the opposite value.
fn unrestorable(spec: &Compiled, current: &CurrentState, plan: &Plan) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(sd) = &spec.soft_delete
        && current.column(&sd.column).is_some_and(|c| c.not_null)
        && !matches!(sd.value, Value::Bool(_))
    {
        let restored: Vec<String> = plan
            .changes
            .iter()
            .filter(|c| c.reason == crate::plan::Reason::Restored)
            .map(|c| plan.address(&c.address))
            .collect();
        if !restored.is_empty() {
            problems.push(format!(
                "{} {} back in the sources, but the soft-delete column {:?} is NOT NULL and                  its value {} has no opposite to restore {} with; make the column nullable,                  or use `soft_delete: {{ column: {}, value: true }}` with a boolean column",
                restored.join(", "),
                if restored.len() == 1 { "is" } else { "are" },
                sd.column,
                sd.value,
                if restored.len() == 1 { "it" } else { "them" },
                sd.column
            ));
        }
    }
    problems
}

/// Unique constraints, on the table as it will be.
fn unique_clashes(
    spec: &Compiled,
    current: &CurrentState,
    plan: &Plan,
    engine: Engine,
    not_null: &[bool],
) -> Vec<String> {
    let mut problems = Vec::new();
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
                    match (engine, v) {
                        (Engine::MySql, Value::Text(s)) => Value::Text(s.to_lowercase()),
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
    problems
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

/// What a column's declared type can hold without changing a value, as far as the checks
/// need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Text,
    Integer,
    /// NUMERIC/DECIMAL with this scale (`None`: unconstrained).
    Numeric(Option<i64>),
    Float,
    Boolean,
    Date,
    Timestamp,
    Json,
    /// SQLite's column without a declared type, which stores every value as given.
    Anything,
    Other,
}

/// The class of a column on a server database, by the type name its catalog gives.
fn server_class(column: &Column) -> Class {
    let t = column.data_type.to_ascii_lowercase();
    match t.as_str() {
        "smallint" | "integer" | "bigint" | "int" | "tinyint" | "mediumint" | "int2" | "int4"
        | "int8" | "smallserial" | "serial" | "bigserial" => Class::Integer,
        "numeric" | "decimal" => Class::Numeric(column.scale),
        "real" | "double precision" | "float" | "double" | "float4" | "float8" => Class::Float,
        "boolean" | "bool" => Class::Boolean,
        "character varying" | "varchar" | "character" | "char" | "bpchar" | "text" | "tinytext"
        | "mediumtext" | "longtext" | "citext" | "clob" | "nvarchar" | "nchar" => Class::Text,
        "date" => Class::Date,
        "datetime" => Class::Timestamp,
        t if t.starts_with("timestamp") => Class::Timestamp,
        "json" | "jsonb" => Class::Json,
        _ => Class::Other,
    }
}

/// The class of an SQLite column by the affinity its declared type gives it (the rules of
/// SQLite's "Determination Of Column Affinity"), refined by the name where the affinity is
/// NUMERIC: BOOLEAN, DATE, DATETIME, JSON, DECIMAL all have it.
fn sqlite_class(declared: &str) -> Class {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        Class::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        Class::Text
    } else if t.trim().is_empty() || t.contains("BLOB") {
        Class::Anything
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Class::Float
    } else if t.contains("BOOL") {
        Class::Boolean
    } else if t.contains("DATETIME") || t.contains("TIMESTAMP") {
        Class::Timestamp
    } else if t.contains("DATE") {
        Class::Date
    } else if t.contains("JSON") {
        Class::Json
    } else {
        // NUMERIC affinity: numbers kept exactly when they are whole, else as floats.
        Class::Numeric(None)
    }
}

/// Whether a column of class `class` keeps every value of a field of type `kind` as written.
fn holds(kind: FieldType, class: Class, engine: Engine) -> bool {
    use FieldType as F;
    let sqlite = engine == Engine::Sqlite;
    match (kind, class) {
        (_, Class::Anything) => true,
        (F::Text | F::Email | F::Phone, Class::Text) => true,
        (F::Integer, Class::Integer | Class::Numeric(None | Some(0))) => true,
        // Tables the tool creates keep decimals as text on SQLite: exact, and compared in
        // canonical form.
        (F::Decimal, Class::Numeric(_) | Class::Float | Class::Text) => true,
        (F::Boolean, Class::Boolean) => true,
        // MySQL's BOOLEAN is TINYINT(1); SQLite stores booleans as 0/1. PostgreSQL refuses
        // to put a boolean into an integer column.
        (F::Boolean, Class::Integer) => engine != Engine::Postgres,
        (F::Boolean, Class::Numeric(_)) => sqlite,
        // A date in a DATETIME column reads back at midnight, which reads as the date.
        (F::Date, Class::Date | Class::Timestamp | Class::Text) => true,
        (F::Timestamp, Class::Timestamp | Class::Text) => true,
        (F::Json, Class::Json | Class::Text) => true,
        _ => false,
    }
}

/// The column types that suit a field type, for messages.
fn suits(kind: FieldType, engine: Engine) -> &'static str {
    use FieldType as F;
    match (kind, engine) {
        (F::Text | F::Email | F::Phone, Engine::Sqlite) => {
            "a text column (TEXT, VARCHAR, CHAR, CLOB: text affinity)"
        }
        (F::Text | F::Email | F::Phone, _) => "a text column (VARCHAR, CHAR, TEXT)",
        (F::Integer, Engine::Sqlite) => "an INTEGER column (integer affinity) or NUMERIC",
        (F::Integer, _) => "an integer column (INTEGER, BIGINT, ...) or a NUMERIC with scale 0",
        (F::Decimal, _) => "a NUMERIC/DECIMAL, REAL or text column",
        (F::Boolean, Engine::Postgres) => "a BOOLEAN column",
        (F::Boolean, _) => "a BOOLEAN or integer column",
        (F::Date, _) => "a DATE, DATETIME/TIMESTAMP or text column",
        (F::Timestamp, _) => "a TIMESTAMP/DATETIME or text column",
        (F::Json, _) => "a JSON/JSONB or text column",
    }
}

/// The name of a field type as the spec writes it.
fn type_name(kind: FieldType) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Checks the type of each mapped column of an existing table against its field's type;
/// every mismatch is reported at once.
pub fn column_types(spec: &Compiled, columns: &[Column], engine: Engine) -> Result<()> {
    let mut problems: Vec<String> = Vec::new();
    for f in &spec.fields {
        let Some(c) = columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(&f.column))
        else {
            continue;
        };
        let class = match engine {
            Engine::Sqlite => sqlite_class(&c.data_type),
            _ => server_class(c),
        };
        if holds(f.kind, class, engine) {
            continue;
        }
        let declared = match (class, c.scale) {
            (Class::Numeric(_), Some(s)) => format!("{} (scale {s})", c.data_type.to_uppercase()),
            _ => c.data_type.to_uppercase(),
        };
        problems.push(format!(
            "column {:?} is {declared}, but field `{}` is of type {}, which needs {}",
            c.name,
            f.name,
            type_name(f.kind),
            suits(f.kind, engine)
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Plan {
        message: format!(
            "table {:?} has {} that cannot hold the spec's values as written:\n  - {}",
            spec.table,
            if problems.len() == 1 {
                "a column".to_string()
            } else {
                format!("{} columns", problems.len())
            },
            problems.join("\n  - ")
        ),
        help: Some(
            "change the field's `type` in the spec, map it to another column with `column:`, \
             or alter the column's type; nothing was written"
                .into(),
        ),
    })
}

/// Values longer than their CHAR/VARCHAR column, or with more decimals than their NUMERIC
/// column keeps: the database would refuse them at apply, or (MySQL outside strict mode) cut
/// or round them, after which they never read back as written. One problem per column,
/// naming the longest value's record.
fn widths(spec: &Compiled, current: &CurrentState, plan: &Plan) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, f) in spec.fields.iter().enumerate() {
        if f.reference.is_some() {
            continue;
        }
        let Some(c) = current.column(&f.column) else {
            continue;
        };
        let (limit, measure): (i64, fn(&str) -> i64) = match (f.kind, c.max_length, c.scale) {
            (FieldType::Decimal, _, Some(scale)) => (scale, decimals),
            (FieldType::Integer | FieldType::Boolean, _, _) => continue,
            (_, Some(n), _) => (n, |s: &str| s.chars().count() as i64),
            _ => continue,
        };
        // (length, address) of the longest value over the limit, and how many are.
        let mut worst: Option<(i64, &str)> = None;
        let mut over = 0;
        for ch in &plan.changes {
            let (Action::Create | Action::Update, Some(after)) = (ch.action, &ch.after) else {
                continue;
            };
            if ch.action == Action::Update && !ch.changed.contains(&i) {
                continue;
            }
            let Value::Text(s) = &after[i] else { continue };
            let n = measure(s);
            if n > limit {
                over += 1;
                if worst.is_none_or(|(m, _)| n > m) {
                    worst = Some((n, ch.address.as_str()));
                }
            }
        }
        let Some((n, address)) = worst else { continue };
        problems.push(if f.kind == FieldType::Decimal {
            format!(
                "column {:?} keeps {limit} decimals, but {} to write {} more: {}'s `{}` has \
                 {n}, which the database would round; widen the column's scale, or round \
                 the value in the source",
                c.name,
                plural(over, "value"),
                if over == 1 { "has" } else { "have" },
                plan.address(address),
                f.name
            )
        } else {
            format!(
                "column {:?} is {}({limit}), but {} to write {} longer: {}'s `{}` is {n} \
                 characters; widen the column, or shorten the value in the source",
                c.name,
                c.data_type.to_uppercase(),
                plural(over, "value"),
                if over == 1 { "is" } else { "are" },
                plan.address(address),
                f.name
            )
        });
    }
    problems
}

/// The digits after the point of a decimal in canonical form.
fn decimals(s: &str) -> i64 {
    s.split_once('.').map_or(0, |(_, frac)| {
        frac.chars().take_while(char::is_ascii_digit).count() as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_affinity_decides_what_a_column_holds() {
        let ok = |kind, declared: &str| holds(kind, sqlite_class(declared), Engine::Sqlite);
        assert!(ok(FieldType::Text, "VARCHAR(20)"));
        assert!(ok(FieldType::Text, "CLOB"));
        assert!(ok(FieldType::Text, ""));
        assert!(!ok(FieldType::Text, "INTEGER"));
        // STRING has NUMERIC affinity: "0012" would be stored as 12.
        assert!(!ok(FieldType::Email, "STRING"));
        assert!(ok(FieldType::Integer, "BIGINT"));
        assert!(!ok(FieldType::Integer, "REAL"));
        assert!(ok(FieldType::Decimal, "TEXT"));
        assert!(ok(FieldType::Decimal, "NUMERIC(10,2)"));
        assert!(!ok(FieldType::Decimal, "INTEGER"));
        assert!(ok(FieldType::Boolean, "BOOLEAN"));
        assert!(ok(FieldType::Date, "DATE"));
        assert!(ok(FieldType::Timestamp, "DATETIME"));
        assert!(!ok(FieldType::Timestamp, "DATE"));
        assert!(ok(FieldType::Json, "JSON"));
    }

    #[test]
    fn server_types_decide_what_a_column_holds() {
        let col = |t: &str, scale| Column {
            name: "c".into(),
            data_type: t.into(),
            not_null: false,
            has_default: false,
            generated: false,
            max_length: None,
            scale,
        };
        let ok = |kind, c: &Column, b| holds(kind, server_class(c), b);
        assert!(!ok(FieldType::Text, &col("int", None), Engine::MySql));
        assert!(!ok(
            FieldType::Text,
            &col("numeric", Some(2)),
            Engine::Postgres
        ));
        assert!(ok(
            FieldType::Integer,
            &col("numeric", Some(0)),
            Engine::Postgres
        ));
        assert!(!ok(
            FieldType::Integer,
            &col("decimal", Some(2)),
            Engine::MySql
        ));
        assert!(ok(FieldType::Text, &col("citext", None), Engine::Postgres));
        assert!(ok(FieldType::Boolean, &col("tinyint", None), Engine::MySql));
        assert!(!ok(
            FieldType::Boolean,
            &col("integer", None),
            Engine::Postgres
        ));
        assert!(!ok(
            FieldType::Integer,
            &col("interval", None),
            Engine::Postgres
        ));
        assert!(ok(
            FieldType::Timestamp,
            &col("timestamp with time zone", None),
            Engine::Postgres
        ));
        assert!(ok(FieldType::Json, &col("longtext", None), Engine::MySql));
        assert!(!ok(FieldType::Text, &col("uuid", None), Engine::Postgres));
    }

    #[test]
    fn decimals_are_counted_after_the_point() {
        assert_eq!(decimals("3.777"), 3);
        assert_eq!(decimals("12"), 0);
        assert_eq!(decimals("-0.5"), 1);
    }
}
