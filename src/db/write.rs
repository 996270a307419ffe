//! Writing a plan: one transaction that re-reads the state, refuses to go on if it changed
//! since the plan was made, creates the table if needed, inserts, updates, and records every
//! managed row in the state table. Any failure rolls everything back.

use sqlx::Row as _;

use super::lock::{LockRequest, Locking as _};
use super::read::{ReadError, key_text, read_on, values_hash};
use super::{Database, Dialect, STATE_TABLE, on_pool};
use crate::error::{Error, Result};
use crate::plan::{Action, Plan};
use crate::spec::FieldType;
use crate::spec::compiled::Compiled;
use crate::value::Value;

/// What an apply did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// Binds a value with the SQL type of its field, so NULLs are typed too.
macro_rules! bind_value {
    ($q:expr, $v:expr, $kind:expr) => {
        match ($v, $kind) {
            (Value::Null, FieldType::Integer) => $q.bind(None::<i64>),
            (Value::Null, FieldType::Boolean) => $q.bind(None::<bool>),
            (Value::Null, _) => $q.bind(None::<String>),
            (Value::Text(s), _) => $q.bind(s.clone()),
            (Value::Int(i), _) => $q.bind(*i),
            (Value::Bool(b), _) => $q.bind(*b),
        }
    };
}

/// The statement that creates the target table from the spec's fields.
pub fn create_table_sql(spec: &Compiled, d: Dialect) -> String {
    let mut cols = vec![d.primary_key_column(&spec.primary_key)];
    for (i, f) in spec.fields.iter().enumerate() {
        let mut col = format!(
            "{} {}",
            d.quote(&f.column),
            d.column_type(f.kind, spec.key == Some(i))
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
    format!(
        "CREATE TABLE {} ({})",
        d.quote(&spec.table),
        cols.join(", ")
    )
}

fn insert_sql(spec: &Compiled, d: Dialect) -> String {
    let cols: Vec<String> = spec.fields.iter().map(|f| d.quote(&f.column)).collect();
    let params: Vec<String> = (1..=spec.fields.len()).map(|n| d.placeholder(n)).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({}) RETURNING {}",
        d.quote(&spec.table),
        cols.join(", "),
        params.join(", "),
        d.quote(&spec.primary_key)
    )
}

fn update_sql(spec: &Compiled, d: Dialect, changed: &[usize]) -> String {
    let sets: Vec<String> = changed
        .iter()
        .enumerate()
        .map(|(n, &f)| {
            format!(
                "{} = {}",
                d.quote(&spec.fields[f].column),
                d.placeholder(n + 1)
            )
        })
        .collect();
    format!(
        "UPDATE {} SET {} WHERE {} = {}",
        d.quote(&spec.table),
        sets.join(", "),
        d.quote(&spec.primary_key),
        d.placeholder(changed.len() + 1)
    )
}

fn state_delete_sql(d: Dialect) -> String {
    format!(
        "DELETE FROM {} WHERE resource = {} AND address = {}",
        d.quote(STATE_TABLE),
        d.placeholder(1),
        d.placeholder(2)
    )
}

fn state_insert_sql(d: Dialect) -> String {
    let p: Vec<String> = (1..=6).map(|n| d.placeholder(n)).collect();
    format!(
        "INSERT INTO {} (resource, address, row_key, members, hash, applied_at) VALUES ({})",
        d.quote(STATE_TABLE),
        p.join(", ")
    )
}

/// The statement that deletes a row (`None`) or soft-deletes it (`Some(column)`).
fn delete_sql(spec: &Compiled, d: Dialect, soft: Option<&str>) -> String {
    let set = match soft {
        Some(col) => format!(
            "UPDATE {} SET {} = {}",
            d.quote(&spec.table),
            d.quote(col),
            d.placeholder(1)
        ),
        None => format!("DELETE FROM {}", d.quote(&spec.table)),
    };
    let n = if soft.is_some() { 2 } else { 1 };
    format!(
        "{set} WHERE {} = {}",
        d.quote(&spec.primary_key),
        d.placeholder(n)
    )
}

/// Applies a plan in one transaction, waiting up to 10 seconds for the lock.
pub async fn apply(db: &Database, spec: &Compiled, plan: &Plan) -> Result<Applied> {
    let req = LockRequest::new(
        &db.url,
        &spec.table,
        std::time::Duration::from_secs(10),
        "apply",
    );
    apply_locked(db, spec, plan, &req).await
}

/// Applies a plan in one transaction that holds the table's lock.
pub async fn apply_locked(
    db: &Database,
    spec: &Compiled,
    plan: &Plan,
    lock: &LockRequest,
) -> Result<Applied> {
    let d = db.dialect;
    let pool = db
        .pool
        .as_ref()
        .ok_or_else(|| db.error("the database is not open for writing"))?;
    let now = now_rfc3339();
    let result: std::result::Result<Applied, ApplyError> = on_pool!(pool, p => {
        match p.acquire().await {
        Err(e) => Err(ApplyError::Sql(e)),
        Ok(mut conn) => {
        let result = async {
            let mut tx = conn.begin_locked(lock).await.map_err(ApplyError::Other)?;
            let current = read_on!(&mut *tx, d, spec).map_err(|e| match e {
                ReadError::Sql(e) => ApplyError::Sql(e),
                ReadError::Spec(e) => ApplyError::Other(e),
            })?;
            if current.fingerprint != plan.fingerprint {
                return Err(ApplyError::Other(crate::plan::file::stale_error(plan, &current)));
            }
            if plan.create_table {
                sqlx::query(sqlx::AssertSqlSafe(create_table_sql(spec, d))).execute(&mut *tx).await?;
            }
            sqlx::query(sqlx::AssertSqlSafe(d.create_state_table())).execute(&mut *tx).await?;
            let insert = insert_sql(spec, d);
            let (state_delete, state_insert) = (state_delete_sql(d), state_insert_sql(d));
            let mut applied = Applied::default();
            for c in &plan.changes {
                let after = c.after.as_ref();
                let key: Option<String> = match c.action {
                    Action::Create => {
                        let values = after.expect("a create has values");
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
                        for (v, f) in values.iter().zip(&spec.fields) {
                            q = bind_value!(q, v, f.kind);
                        }
                        let row = q.fetch_one(&mut *tx).await?;
                        applied.created += 1;
                        Some(if current.integer_key {
                            row.try_get::<i64, _>(0)?.to_string()
                        } else {
                            row.try_get::<String, _>(0)?
                        })
                    }
                    Action::Update => {
                        let values = after.expect("an update has values");
                        let row_key = c.row_key.as_ref().expect("an update has a row");
                        if !c.changed.is_empty() {
                            let mut q = sqlx::query(sqlx::AssertSqlSafe(update_sql(spec, d, &c.changed)));
                            for &f in &c.changed {
                                q = bind_value!(q, &values[f], spec.fields[f].kind);
                            }
                            q = match row_key {
                                Value::Int(i) => q.bind(*i),
                                other => q.bind(key_text(other)),
                            };
                            q.execute(&mut *tx).await?;
                        }
                        applied.updated += 1;
                        Some(key_text(row_key))
                    }
                    Action::NoOp if c.write_state => c.row_key.as_ref().map(key_text),
                    Action::NoOp => None,
                    Action::Delete => {
                        let row_key = c.row_key.as_ref().expect("a delete has a row");
                        let soft = spec.soft_delete.as_ref().filter(|_| c.reason == crate::plan::Reason::MissingSoft);
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(delete_sql(spec, d, soft.map(|s| s.column.as_str()))));
                        if let Some(sd) = soft {
                            q = match &sd.value {
                                Value::Bool(b) => q.bind(*b),
                                Value::Int(i) => q.bind(*i),
                                other => q.bind(key_text(other)),
                            };
                        }
                        q = match row_key {
                            Value::Int(i) => q.bind(*i),
                            other => q.bind(key_text(other)),
                        };
                        q.execute(&mut *tx).await?;
                        sqlx::query(sqlx::AssertSqlSafe(state_delete.clone()))
                            .bind(plan.resource.clone())
                            .bind(c.address.clone())
                            .execute(&mut *tx)
                            .await?;
                        applied.deleted += 1;
                        None
                    }
                };
                if let (Some(key), Some(values)) = (key, after) {
                    sqlx::query(sqlx::AssertSqlSafe(state_delete.clone()))
                        .bind(plan.resource.clone())
                        .bind(c.address.clone())
                        .execute(&mut *tx)
                        .await?;
                    let members: Vec<String> = c.members.iter().map(ToString::to_string).collect();
                    sqlx::query(sqlx::AssertSqlSafe(state_insert.clone()))
                        .bind(plan.resource.clone())
                        .bind(c.address.clone())
                        .bind(key)
                        .bind(serde_json::to_string(&members).expect("strings serialise"))
                        .bind(values_hash(values))
                        .bind(now.clone())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(applied)
        }
        .await;
        conn.release(lock).await;
        result
        }
        }
    });
    result.map_err(|e| match e {
        ApplyError::Sql(e) => Error::Database {
            url: db.display_url(),
            message: format!("apply failed and was rolled back, nothing was written: {e}"),
            help: None,
        },
        ApplyError::Other(e) => e,
    })
}

enum ApplyError {
    Sql(sqlx::Error),
    Other(Error),
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        ApplyError::Sql(e)
    }
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_look_right() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20"), "{t}");
        assert!(t.ends_with('Z'));
    }
}
