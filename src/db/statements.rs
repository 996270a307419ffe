//! The text of every statement that writes: creating the target and state tables, inserting,
//! updating, deleting and restoring rows, and writing state entries. Identifiers are quoted
//! by the [`Dialect`]; values are always bound, in the order each function documents.

use std::fmt::Write as _;

use super::rows::Arg;
use super::{Dialect, Engine, STATE_TABLE};
use crate::plan::schema::Schema;
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::value::Value;

/// The columns of the state table, in the order its INSERT binds them.
pub(crate) const STATE_COLUMNS: &str = "resource, address, row_key, members, hash, applied_at";

/// The target table with the constraints the plan gives it ([`Schema`]: a unique index on
/// `target.key`, foreign keys for references). With `later`, the keys that are better built
/// once the rows are in are left out, for [`keys_after_load`] to add: the primary key, the
/// unique index and the foreign keys on PostgreSQL ([`Dialect::key_after_load`]), the unique
/// index on SQLite (whose rowid key and foreign keys come with the table, as SQLite cannot
/// add them later).
pub(crate) fn create_table(spec: &Compiled, schema: &Schema, d: Dialect, later: bool) -> String {
    let keyed = !(later && d.key_after_load());
    let mut cols = vec![d.primary_key_column(&spec.primary_key, keyed)];
    for (i, f) in spec.fields.iter().enumerate() {
        let mut col = format!(
            "{} {}",
            d.quote(&f.column),
            d.column_type(f.kind, spec.key == Some(i) || schema.unique_key == Some(i))
        );
        if f.required {
            col.push_str(" NOT NULL");
        }
        cols.push(col);
    }
    if let Some(sd) = &spec.soft_delete {
        let kind = match sd.value {
            Value::Bool(_) => FieldType::Boolean,
            Value::Int(_) => FieldType::Integer,
            _ => FieldType::Text,
        };
        cols.push(format!(
            "{} {}",
            d.quote(&sd.column),
            d.column_type(kind, false)
        ));
    }
    if !later {
        cols.extend(unique_key(spec, schema, d));
    }
    if keyed {
        cols.extend(foreign_keys(schema, d));
    }
    format!(
        "CREATE TABLE {} ({})",
        d.quote(&spec.table),
        cols.join(", ")
    )
}

/// `UNIQUE (key)`, when the plan gives the table a unique index on `target.key`.
fn unique_key(spec: &Compiled, schema: &Schema, d: Dialect) -> Option<String> {
    let k = schema.unique_key?;
    Some(format!("UNIQUE ({})", d.quote(&spec.fields.get(k)?.column)))
}

/// `FOREIGN KEY (column) REFERENCES table (key)` for each foreign key the plan gives.
fn foreign_keys(schema: &Schema, d: Dialect) -> Vec<String> {
    schema
        .foreign_keys
        .iter()
        .map(|fk| {
            format!(
                "FOREIGN KEY ({}) REFERENCES {} ({})",
                d.quote(&fk.column),
                d.quote(&fk.table),
                d.quote(&fk.references)
            )
        })
        .collect()
}

/// The keys [`create_table`] with `later` left out, added once the table's first rows are
/// in: PostgreSQL builds each index from the sorted rows in one pass (and checks each foreign
/// key in one join) instead of row by row; SQLite builds its unique index the same way.
pub(crate) fn keys_after_load(spec: &Compiled, schema: &Schema, d: Dialect) -> Vec<String> {
    let table = d.quote(&spec.table);
    match d.engine {
        Engine::Postgres => {
            let mut parts = vec![format!("ADD PRIMARY KEY ({})", d.quote(&spec.primary_key))];
            // Checked at commit, so that rows trading keys within one apply (two customers
            // swapping emails) pass, as the plan checked the table as it will be.
            parts.extend(
                unique_key(spec, schema, d)
                    .map(|u| format!("ADD {u} DEFERRABLE INITIALLY DEFERRED")),
            );
            parts.extend(
                foreign_keys(schema, d)
                    .into_iter()
                    .map(|f| format!("ADD {f}")),
            );
            vec![format!("ALTER TABLE {table} {}", parts.join(", "))]
        }
        Engine::Sqlite => schema
            .unique_key
            .and_then(|k| spec.fields.get(k))
            .map(|f| {
                format!(
                    "CREATE UNIQUE INDEX {} ON {table} ({})",
                    d.quote(&format!("{}_{}_key", spec.table, f.column)),
                    d.quote(&f.column)
                )
            })
            .into_iter()
            .collect(),
        Engine::MySql => Vec::new(),
    }
}

/// `ALTER TABLE … ADD COLUMN` for a field the existing table lacks: nullable (see
/// [`crate::plan::schema`]), of the type a table the tool creates would give it.
pub(crate) fn add_column(spec: &Compiled, d: Dialect, field: usize) -> String {
    let f = &spec.fields[field];
    format!(
        "ALTER TABLE {} ADD COLUMN {} {}",
        d.quote(&spec.table),
        d.quote(&f.column),
        d.column_type(f.kind, false)
    )
}

/// What inserting new rows needs to know about the table.
pub(crate) struct Insert<'a> {
    pub spec: &'a Compiled,
    pub d: Dialect,
    /// Per field: its column is NOT NULL.
    pub not_null: Vec<bool>,
    /// The primary key is an integer the database generates (rowid, identity, serial,
    /// AUTO_INCREMENT).
    pub generated_int_key: bool,
    /// The table was created by this transaction: no one else can see it, or draw keys from
    /// its sequence, before the commit.
    pub created_here: bool,
    /// The most bytes of values one statement may carry (see [`super::batch::batch_bytes`]).
    pub max_bytes: usize,
}

impl Insert<'_> {
    /// Rows per multi-row statement: as many as the parameter limit allows, at most 1000.
    pub(crate) fn batch(&self) -> usize {
        (self.d.max_params() / self.spec.fields.len().max(1)).clamp(1, 1000)
    }

    /// `INSERT INTO t (cols) VALUES (…), (…)`, optionally returning the key as text. Binds
    /// each row's [`Insert::args`] in turn.
    pub(crate) fn sql(&self, rows: usize, returning: bool) -> String {
        let (d, spec) = (self.d, self.spec);
        let cols: Vec<String> = spec.fields.iter().map(|f| d.quote(&f.column)).collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            d.quote(&spec.table),
            cols.join(", ")
        );
        let mut n = 0;
        for r in 0..rows {
            sql.push_str(if r > 0 { ", (" } else { "(" });
            for (i, f) in spec.fields.iter().enumerate() {
                n += 1;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&d.value_placeholder(n, f.kind));
            }
            sql.push(')');
        }
        if returning {
            sql.push_str(" RETURNING ");
            sql.push_str(&d.as_text(&spec.primary_key));
        }
        sql
    }

    /// A row's values as its INSERT binds them.
    pub(crate) fn args<'v>(&'v self, values: &'v [Value]) -> impl Iterator<Item = Arg<'v>> {
        values
            .iter()
            .zip(&self.spec.fields)
            .zip(&self.not_null)
            .map(|((v, f), &not_null)| Arg::value(v, f.kind, not_null))
    }
}

/// One statement that sets the `changed` fields of `rows` rows, joining the table to a list
/// of (primary key, new values…) given as parameters, row after row.
pub(crate) fn update_batch(spec: &Compiled, d: Dialect, changed: &[usize], rows: usize) -> String {
    let table = d.quote(&spec.table);
    let pk = d.quote(&spec.primary_key);
    let width = changed.len() + 1;
    let column = |n: usize| d.quote(&spec.fields[changed[n]].column);
    let mut sql = String::with_capacity(64 + rows * width * 8);
    match d.engine {
        Engine::Postgres => {
            let _ = write!(sql, "UPDATE {table} AS t SET ");
            for n in 0..changed.len() {
                let sep = if n > 0 { ", " } else { "" };
                let _ = write!(sql, "{sep}{} = v.c{n}", column(n));
            }
            sql.push_str(" FROM (VALUES ");
            for r in 0..rows {
                let base = r * width;
                let _ = write!(sql, "{}(${}", if r > 0 { ", " } else { "" }, base + 1);
                for (n, &f) in changed.iter().enumerate() {
                    let p = d.value_placeholder(base + n + 2, spec.fields[f].kind);
                    let _ = write!(sql, ", {p}");
                }
                sql.push(')');
            }
            sql.push_str(") AS v(k");
            for n in 0..changed.len() {
                let _ = write!(sql, ", c{n}");
            }
            let _ = write!(sql, ") WHERE t.{pk} = v.k");
        }
        Engine::Sqlite => {
            let _ = write!(sql, "UPDATE {table} SET ");
            for n in 0..changed.len() {
                let sep = if n > 0 { ", " } else { "" };
                let _ = write!(sql, "{sep}{} = v.column{}", column(n), n + 2);
            }
            sql.push_str(" FROM (VALUES ");
            let row = format!("({})", vec!["?"; width].join(", "));
            sql.push_str(&vec![row; rows].join(", "));
            let _ = write!(sql, ") AS v WHERE {table}.{pk} = v.column1");
        }
        Engine::MySql => {
            let _ = write!(sql, "UPDATE {table} AS t JOIN (SELECT ? AS k");
            for n in 0..changed.len() {
                let _ = write!(sql, ", ? AS c{n}");
            }
            let rest = format!(" UNION ALL SELECT {}", vec!["?"; width].join(", "));
            sql.push_str(&rest.repeat(rows.saturating_sub(1)));
            let _ = write!(sql, ") AS v ON t.{pk} = v.k SET ");
            for n in 0..changed.len() {
                let sep = if n > 0 { ", " } else { "" };
                let _ = write!(sql, "{sep}t.{} = v.c{n}", column(n));
            }
        }
    }
    sql
}

/// The statement that deletes `rows` rows by primary key (`soft` is `None`) or soft-deletes
/// them (`Some(column)`, whose value is the first parameter); then the keys.
pub(crate) fn delete(spec: &Compiled, d: Dialect, soft: Option<&str>, rows: usize) -> String {
    let set = match soft {
        Some(col) => format!(
            "UPDATE {} SET {} = {}",
            d.quote(&spec.table),
            d.quote(col),
            d.placeholder(1)
        ),
        None => format!("DELETE FROM {}", d.quote(&spec.table)),
    };
    let first = if soft.is_some() { 2 } else { 1 };
    format!(
        "{set} WHERE {} IN ({})",
        d.quote(&spec.primary_key),
        placeholders(d, first, rows)
    )
}

/// The statement that restores `rows` soft-deleted rows by primary key: their soft-delete
/// column set to NULL or, when it is NOT NULL (only allowed for a boolean soft-delete value,
/// see [`super::check::check`]), to the opposite of the soft-delete value, bound first.
pub(crate) fn restore(
    spec: &Compiled,
    d: Dialect,
    column: &str,
    not_null: bool,
    rows: usize,
) -> String {
    let first = if not_null { 2 } else { 1 };
    format!(
        "UPDATE {} SET {} = {} WHERE {} IN ({})",
        d.quote(&spec.table),
        d.quote(column),
        if not_null {
            d.placeholder(1)
        } else {
            "NULL".to_string()
        },
        d.quote(&spec.primary_key),
        placeholders(d, first, rows)
    )
}

/// `n` placeholders from the `first`, separated by commas.
pub(crate) fn placeholders(d: Dialect, first: usize, n: usize) -> String {
    let p: Vec<String> = (first..first + n).map(|i| d.placeholder(i)).collect();
    p.join(", ")
}

/// Deletes `n` state entries of a resource: the resource, then the addresses.
pub(crate) fn state_delete(d: Dialect, n: usize) -> String {
    format!(
        "DELETE FROM {} WHERE resource = {} AND address IN ({})",
        d.quote(STATE_TABLE),
        d.placeholder(1),
        placeholders(d, 2, n)
    )
}

/// `INSERT` of `rows` state entries (each bound as [`super::writeset::StateEntry::args`]); with `upsert`, each
/// replaces the entry at its address.
pub(crate) fn state_insert(d: Dialect, rows: usize, upsert: bool) -> String {
    let groups: Vec<String> = (0..rows)
        .map(|r| format!("({})", placeholders(d, r * 6 + 1, 6)))
        .collect();
    let mut sql = format!(
        "INSERT INTO {} ({STATE_COLUMNS}) VALUES {}",
        d.quote(STATE_TABLE),
        groups.join(", ")
    );
    if upsert {
        let set: Vec<String> = ["row_key", "members", "hash", "applied_at"]
            .iter()
            .map(|c| match d.engine {
                Engine::MySql => format!("{c} = VALUES({c})"),
                _ => format!("{c} = excluded.{c}"),
            })
            .collect();
        sql.push_str(&match d.engine {
            Engine::MySql => format!(" ON DUPLICATE KEY UPDATE {}", set.join(", ")),
            _ => format!(
                " ON CONFLICT (resource, address) DO UPDATE SET {}",
                set.join(", ")
            ),
        });
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec of table `t` with a text field `name` and a second field as given.
    fn spec(second: &str) -> Compiled {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let text = format!(
            "version: 1\nresource: r\ntarget:\n  table: t\n  fields:\n    name: {{}}\n    \
             {second}\nsources:\n  s:\n    id: name\n    inline: [{{ name: x }}]\n    \
             fields: {{ name: name }}\n"
        );
        std::fs::write(&path, text).unwrap();
        crate::spec::load::load(&path).unwrap()
    }

    #[test]
    fn multi_row_insert_numbers_and_casts_its_placeholders() {
        let spec = spec("price: { type: decimal }");
        let ins = |engine| Insert {
            spec: &spec,
            d: Dialect::new(engine),
            not_null: vec![false, false],
            generated_int_key: true,
            created_here: false,
            max_bytes: super::super::batch::batch_bytes(None),
        };
        assert_eq!(
            ins(Engine::Postgres).sql(2, true),
            "INSERT INTO \"t\" (\"name\", \"price\") VALUES ($1, CAST($2 AS NUMERIC)), \
             ($3, CAST($4 AS NUMERIC)) RETURNING CAST(\"id\" AS TEXT)"
        );
        assert_eq!(
            ins(Engine::MySql).sql(2, false),
            "INSERT INTO `t` (`name`, `price`) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(ins(Engine::Sqlite).batch(), 1000);
        assert_eq!(
            state_insert(Dialect::new(Engine::Postgres), 2, false)
                .matches('$')
                .count(),
            12
        );
        assert!(
            state_insert(Dialect::new(Engine::Sqlite), 1, true).ends_with(
                "ON CONFLICT (resource, address) DO UPDATE SET row_key = excluded.row_key, \
                 members = excluded.members, hash = excluded.hash, applied_at = excluded.applied_at"
            )
        );
        assert!(
            state_insert(Dialect::new(Engine::MySql), 1, true).ends_with(
                "ON DUPLICATE KEY UPDATE row_key = VALUES(row_key), members = VALUES(members), \
                 hash = VALUES(hash), applied_at = VALUES(applied_at)"
            )
        );
    }

    #[test]
    fn a_created_table_gets_its_unique_key_and_foreign_keys_now_or_after_its_rows() {
        let spec = spec("owner: { type: integer }");
        let schema = Schema {
            unique_key: Some(0),
            foreign_keys: vec![crate::plan::schema::ForeignKey {
                field: 1,
                column: "owner".into(),
                table: "p\"q".into(),
                references: "id".into(),
            }],
            ..Schema::default()
        };
        let d = Dialect::new;
        // MySQL: everything with the table, created before the transaction.
        assert_eq!(
            create_table(&spec, &schema, d(Engine::MySql), false),
            "CREATE TABLE `t` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `name` VARCHAR(255), \
             `owner` BIGINT, UNIQUE (`name`), FOREIGN KEY (`owner`) REFERENCES `p\"q` (`id`))"
        );
        // SQLite: the rowid key and the foreign keys with the table, the unique index after.
        assert_eq!(
            create_table(&spec, &schema, d(Engine::Sqlite), true),
            "CREATE TABLE \"t\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"name\" TEXT, \
             \"owner\" INTEGER, FOREIGN KEY (\"owner\") REFERENCES \"p\"\"q\" (\"id\"))"
        );
        assert_eq!(
            keys_after_load(&spec, &schema, d(Engine::Sqlite)),
            ["CREATE UNIQUE INDEX \"t_name_key\" ON \"t\" (\"name\")"]
        );
        // PostgreSQL: every key after the rows, in one statement.
        assert_eq!(
            create_table(&spec, &schema, d(Engine::Postgres), true),
            "CREATE TABLE \"t\" (\"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY, \
             \"name\" TEXT, \"owner\" BIGINT)"
        );
        assert_eq!(
            keys_after_load(&spec, &schema, d(Engine::Postgres)),
            [
                "ALTER TABLE \"t\" ADD PRIMARY KEY (\"id\"), ADD UNIQUE (\"name\") \
                 DEFERRABLE INITIALLY DEFERRED, ADD FOREIGN KEY (\"owner\") REFERENCES \"p\"\"q\" (\"id\")"
            ]
        );
        // Without a key or a reference, only the primary key.
        assert_eq!(
            keys_after_load(&spec, &Schema::default(), d(Engine::Postgres)),
            ["ALTER TABLE \"t\" ADD PRIMARY KEY (\"id\")"]
        );
        assert!(keys_after_load(&spec, &Schema::default(), d(Engine::Sqlite)).is_empty());
        assert_eq!(
            add_column(&spec, d(Engine::MySql), 1),
            "ALTER TABLE `t` ADD COLUMN `owner` BIGINT"
        );
    }

    #[test]
    fn batched_updates_join_a_list_of_keys_and_values() {
        let spec = spec("n: { type: integer }");
        assert_eq!(
            update_batch(&spec, Dialect::new(Engine::Sqlite), &[1], 2),
            "UPDATE \"t\" SET \"n\" = v.column2 FROM (VALUES (?, ?), (?, ?)) AS v \
             WHERE \"t\".\"id\" = v.column1"
        );
        assert_eq!(
            update_batch(&spec, Dialect::new(Engine::MySql), &[0, 1], 2),
            "UPDATE `t` AS t JOIN (SELECT ? AS k, ? AS c0, ? AS c1 UNION ALL SELECT ?, ?, ?) \
             AS v ON t.`id` = v.k SET t.`name` = v.c0, t.`n` = v.c1"
        );
        assert_eq!(
            update_batch(&spec, Dialect::new(Engine::Postgres), &[0], 2),
            "UPDATE \"t\" AS t SET \"name\" = v.c0 FROM (VALUES ($1, $2), ($3, $4)) AS v(k, c0) \
             WHERE t.\"id\" = v.k"
        );
        assert_eq!(
            delete(&spec, Dialect::new(Engine::Postgres), Some("gone"), 2),
            "UPDATE \"t\" SET \"gone\" = $1 WHERE \"id\" IN ($2, $3)"
        );
        assert_eq!(
            state_delete(Dialect::new(Engine::MySql), 2),
            "DELETE FROM `reconcile_state` WHERE resource = ? AND address IN (?, ?)"
        );
    }
}
