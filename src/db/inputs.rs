//! The inputs table (`reconcile_inputs`): one row per resource, written by every apply in its
//! transaction, read by `plan` to decide whether it may skip resolving the sources (see
//! [`crate::plan::shortcut`]).
//!
//! It is a table of its own rather than reserved rows in the state table, so that every row
//! of `reconcile_state` keeps meaning "a managed row" to the tool and to people querying it.
//! A database without it (made by an older version) simply never takes the shortcut.

use sqlx::Row as _;

use super::{Backend, Database, Dialect, on_pool};
use crate::error::Result;
use crate::plan::shortcut::{Aside, Record};

/// The name of the table where each apply records what it was made from.
pub const INPUTS_TABLE: &str = "reconcile_inputs";

/// The statement that creates the inputs table if it is missing. The recorded plan details
/// may be long (every excluded record), hence LONGTEXT on MySQL, where TEXT stops at 64 KiB.
pub fn create_table_sql(d: Dialect) -> String {
    let long_text = match d.backend {
        Backend::MySql => "LONGTEXT",
        Backend::Sqlite | Backend::Postgres => "TEXT",
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\
         resource VARCHAR(255) NOT NULL PRIMARY KEY, \
         inputs VARCHAR(64) NOT NULL, \
         state VARCHAR(64) NOT NULL, \
         aside {long_text} NOT NULL, \
         applied_at VARCHAR(40) NOT NULL)",
        d.quote(INPUTS_TABLE)
    )
}

/// Removes the record of the resource bound first.
pub fn delete_sql(d: Dialect) -> String {
    format!(
        "DELETE FROM {} WHERE resource = {}",
        d.quote(INPUTS_TABLE),
        d.placeholder(1)
    )
}

/// Writes a record: resource, inputs, state, aside (JSON), applied_at.
pub fn insert_sql(d: Dialect) -> String {
    let p: Vec<String> = (1..=5).map(|n| d.placeholder(n)).collect();
    format!(
        "INSERT INTO {} (resource, inputs, state, aside, applied_at) VALUES ({})",
        d.quote(INPUTS_TABLE),
        p.join(", ")
    )
}

/// The record to write after applying `plan`, given the digest of the resource's state
/// entries as the apply leaves them; `None` when the plan has no inputs fingerprint (several
/// resources planned together, `--target`, a query source): the old record is then only
/// removed.
pub fn record_for(
    plan: &crate::plan::Plan,
    state: crate::fingerprint::StateDigest,
    applied_at: &str,
) -> Option<Record> {
    plan.inputs.as_ref().map(|inputs| Record {
        inputs: inputs.clone(),
        state: state.text(),
        applied_at: applied_at.to_string(),
        aside: Aside::of(plan),
    })
}

/// Inside an apply's transaction (`&mut *tx`), replaces the resource's record: removes the
/// old one, and writes `record` when there is one. Creates the table first except on MySQL,
/// where DDL would commit the transaction: there [`create_table_sql`] runs before it starts.
macro_rules! record_on {
    ($conn:expr, $d:expr, $resource:expr, $record:expr) => {
        async {
            let d: $crate::db::Dialect = $d;
            let conn = $conn;
            let resource: &str = $resource;
            let record: Option<$crate::plan::shortcut::Record> = $record;
            if d.backend != $crate::db::Backend::MySql {
                sqlx::query(sqlx::AssertSqlSafe($crate::db::inputs::create_table_sql(d)))
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query(sqlx::AssertSqlSafe($crate::db::inputs::delete_sql(d)))
                .bind(resource.to_string())
                .execute(&mut *conn)
                .await?;
            if let Some(r) = record {
                let aside = serde_json::to_string(&r.aside).expect("plan details serialise");
                sqlx::query(sqlx::AssertSqlSafe($crate::db::inputs::insert_sql(d)))
                    .bind(resource.to_string())
                    .bind(r.inputs)
                    .bind(r.state)
                    .bind(aside)
                    .bind(r.applied_at)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok::<(), sqlx::Error>(())
        }
        .await
    };
}
pub(crate) use record_on;

/// The record of a resource; `None` when there is none, or no inputs table, or the database
/// does not exist yet. A record that cannot be read (written by a later version) counts as
/// none: the plan then takes the full path.
pub async fn read(db: &Database, resource: &str) -> Result<Option<Record>> {
    let Some(pool) = &db.pool else {
        return Ok(None);
    };
    let d = db.dialect;
    let result = on_pool!(pool, p => {
        async {
            let mut conn = p.acquire().await?;
            let columns =
                crate::db::read::columns_on!(&mut *conn, d, INPUTS_TABLE).await?;
            if columns.is_empty() {
                return Ok::<_, sqlx::Error>(None);
            }
            let sql = format!(
                "SELECT inputs, state, aside, applied_at FROM {} WHERE resource = {}",
                d.quote(INPUTS_TABLE),
                d.placeholder(1)
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(resource.to_string())
                .fetch_optional(&mut *conn)
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let aside: String = row.try_get(2)?;
            let Ok(aside) = serde_json::from_str::<Aside>(&aside) else {
                return Ok(None);
            };
            Ok(Some(Record {
                inputs: row.try_get(0)?,
                state: row.try_get(1)?,
                aside,
                applied_at: row.try_get(3)?,
            }))
        }
        .await
    });
    result.map_err(|e| db.error(e))
}
