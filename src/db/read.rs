//! Reading the current state: the target table's rows (the columns the spec maps, plus the
//! primary key) and this resource's entries in the state table. Every value is read through a
//! cast to text or integer, so what the application stored compares cleanly with the spec.

use sha2::{Digest, Sha256};
use sqlx::Row as _;

use super::{Database, Dialect, on_pool};
use crate::error::{Error, Result};
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::value::Value;

/// A row of the target table.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentRow {
    /// The primary key.
    pub key: Value,
    /// Values by target field index.
    pub values: Vec<Value>,
}

/// An entry of the state table: a row this tool manages.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRow {
    pub address: String,
    /// The managed row's primary key, as text.
    pub row_key: String,
    /// The source records the row was built from (`source:id`).
    pub members: Vec<String>,
    /// Hash of the values last applied, to tell drift from source changes.
    pub hash: String,
}

/// What the database holds now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CurrentState {
    pub table_exists: bool,
    /// Whether the primary key is an integer column.
    pub integer_key: bool,
    pub rows: Vec<CurrentRow>,
    pub state: Vec<StateRow>,
    /// Hash of everything read: a saved plan is stale when this changes.
    pub fingerprint: String,
}

/// Text form of a primary key, as stored in the state table.
pub fn key_text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
    }
}

/// Hash of a row's values, as stored in the state table.
pub fn values_hash(values: &[Value]) -> String {
    let mut buf = Vec::new();
    for v in values {
        v.hash_into(&mut buf);
    }
    hex::encode(Sha256::digest(&buf))
}

fn fingerprint(rows: &[CurrentRow], state: &[StateRow], table_exists: bool) -> String {
    let mut h = Sha256::new();
    h.update([u8::from(table_exists)]);
    let mut buf = Vec::new();
    for r in rows {
        buf.clear();
        r.key.hash_into(&mut buf);
        for v in &r.values {
            v.hash_into(&mut buf);
        }
        h.update((buf.len() as u64).to_le_bytes());
        h.update(&buf);
    }
    for s in state {
        for part in [&s.address, &s.row_key, &s.members.join(","), &s.hash] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
    }
    hex::encode(h.finalize())
}

pub(crate) enum ReadError {
    Sql(sqlx::Error),
    Spec(Error),
}

impl From<sqlx::Error> for ReadError {
    fn from(e: sqlx::Error) -> Self {
        ReadError::Sql(e)
    }
}

/// The columns of a table (name, declared type); empty when the table does not exist.
macro_rules! columns_on {
    ($conn:expr, $d:expr, $table:expr) => {
        async {
            let rows = sqlx::query(sqlx::AssertSqlSafe($d.columns_query()))
                .bind($table.to_string())
                .fetch_all($conn)
                .await?;
            let mut out: Vec<(String, String)> = Vec::with_capacity(rows.len());
            for r in rows {
                out.push((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?));
            }
            Ok::<_, sqlx::Error>(out)
        }
    };
}
pub(crate) use columns_on;

/// Reads the current state through a connection or transaction (`&mut *conn`).
macro_rules! read_on {
    ($conn:expr, $d:expr, $spec:expr) => {
        async {
            let d: $crate::db::Dialect = $d;
            let spec: &$crate::spec::compiled::Compiled = $spec;
            let conn = $conn;
            let columns = $crate::db::read::columns_on!(&mut *conn, d, spec.table).await?;
            let mut state = $crate::db::read::CurrentState {
                table_exists: !columns.is_empty(),
                integer_key: true,
                ..Default::default()
            };
            if state.table_exists {
                $crate::db::read::check_columns(spec, &columns, d)
                    .map_err($crate::db::read::ReadError::Spec)?;
                state.integer_key = columns
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(&spec.primary_key))
                    .is_some_and(|(_, t)| t.to_ascii_lowercase().contains("int"));
                let sql = $crate::db::read::select_rows(spec, d, state.integer_key);
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
                state.rows.reserve(rows.len());
                for r in rows {
                    let key = if state.integer_key {
                        r.try_get::<Option<i64>, _>(0)?.map_or($crate::value::Value::Null, $crate::value::Value::Int)
                    } else {
                        r.try_get::<Option<String>, _>(0)?.map_or($crate::value::Value::Null, $crate::value::Value::Text)
                    };
                    let mut values = Vec::with_capacity(spec.fields.len());
                    for (i, f) in spec.fields.iter().enumerate() {
                        values.push(match f.kind {
                            $crate::spec::FieldType::Integer => r.try_get::<Option<i64>, _>(i + 1)?.map_or($crate::value::Value::Null, $crate::value::Value::Int),
                            $crate::spec::FieldType::Boolean => r
                                .try_get::<Option<i64>, _>(i + 1)?
                                .map_or($crate::value::Value::Null, |v| $crate::value::Value::Bool(v != 0)),
                            _ => match r.try_get::<Option<String>, _>(i + 1)? {
                                Some(s) if !s.is_empty() => $crate::value::Value::Text(s),
                                _ => $crate::value::Value::Null,
                            },
                        });
                    }
                    state.rows.push($crate::db::read::CurrentRow { key, values });
                }
                state.rows.sort_by(|a, b| a.key.cmp(&b.key));
            }
            let state_columns = $crate::db::read::columns_on!(&mut *conn, d, $crate::db::STATE_TABLE).await?;
            if !state_columns.is_empty() {
                let sql = format!(
                    "SELECT address, row_key, members, hash FROM {} WHERE resource = {} ORDER BY address",
                    d.quote($crate::db::STATE_TABLE),
                    d.placeholder(1)
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(spec.resource.clone())
                    .fetch_all(&mut *conn)
                    .await?;
                for r in rows {
                    let members: String = r.try_get(2)?;
                    state.state.push($crate::db::read::StateRow {
                        address: r.try_get(0)?,
                        row_key: r.try_get(1)?,
                        // A JSON list of `source:id`.
                        members: serde_json::from_str(&members).unwrap_or_default(),
                        hash: r.try_get(3)?,
                    });
                }
            }
            state.fingerprint = $crate::db::read::fingerprint_of(&state);
            Ok::<_, $crate::db::read::ReadError>(state)
        }
        .await
    };
}
pub(crate) use read_on;

pub(crate) fn fingerprint_of(s: &CurrentState) -> String {
    fingerprint(&s.rows, &s.state, s.table_exists)
}

/// The SELECT that reads the primary key and every mapped column.
pub(crate) fn select_rows(spec: &Compiled, d: Dialect, integer_key: bool) -> String {
    let mut cols = vec![if integer_key {
        d.as_integer(&spec.primary_key)
    } else {
        d.as_text(&spec.primary_key)
    }];
    for f in &spec.fields {
        cols.push(match f.kind {
            FieldType::Integer | FieldType::Boolean => d.as_integer(&f.column),
            _ => d.as_text(&f.column),
        });
    }
    format!("SELECT {} FROM {}", cols.join(", "), d.quote(&spec.table))
}

/// An existing table must have the primary key and every mapped column.
pub(crate) fn check_columns(
    spec: &Compiled,
    columns: &[(String, String)],
    d: Dialect,
) -> Result<()> {
    let has = |c: &str| columns.iter().any(|(n, _)| n.eq_ignore_ascii_case(c));
    let mut missing: Vec<String> = Vec::new();
    if !has(&spec.primary_key) {
        missing.push(format!("{} (primary key)", spec.primary_key));
    }
    for f in &spec.fields {
        if !has(&f.column) {
            missing.push(f.column.clone());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let existing: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    Err(Error::Plan {
        message: format!(
            "table {} has no column {}",
            d.quote(&spec.table),
            missing.join(", ")
        ),
        help: Some(format!(
            "its columns are {}; map each field to one of them with `column:` in the spec, \
             or set `primary_key:`",
            existing.join(", ")
        )),
    })
}

/// Reads the current state for a spec. A database that does not exist yet reads as empty.
pub async fn read(db: &Database, spec: &Compiled) -> Result<CurrentState> {
    let Some(pool) = &db.pool else {
        let mut empty = CurrentState {
            integer_key: true,
            ..CurrentState::default()
        };
        empty.fingerprint = fingerprint(&[], &[], false);
        return Ok(empty);
    };
    let d = db.dialect;
    let result = on_pool!(pool, p => {
        let mut conn = p.acquire().await.map_err(|e| db.error(e))?;
        read_on!(&mut *conn, d, spec)
    });
    result.map_err(|e| match e {
        ReadError::Sql(e) => db.error(e),
        ReadError::Spec(e) => e,
    })
}
