//! The inputs table (`reconcile_inputs`): one row per resource, written by every apply in its
//! transaction, read by `plan` to decide whether it may skip resolving the sources (see
//! [`crate::plan::shortcut`]).
//!
//! It is a table of its own rather than reserved rows in the state table, so that every row
//! of `reconcile_state` keeps meaning "a managed row" to the tool and to people querying it.
//! A database without it (made by an older version) simply never takes the shortcut.

use super::backend::Backend;
use super::rows::{Arg, Cast};
use super::{Database, Dialect, Engine, Pool};
use crate::error::Result;
use crate::plan::shortcut::{Aside, Record};
use crate::value::Value;

/// The name of the table where each apply records what it was made from.
pub const INPUTS_TABLE: &str = "reconcile_inputs";

/// The statement that creates the inputs table if it is missing. The recorded plan details
/// may be long (every excluded record), hence LONGTEXT on MySQL, where TEXT stops at 64 KiB.
pub fn create_table_sql(d: Dialect) -> String {
    let long_text = match d.engine {
        Engine::MySql => "LONGTEXT",
        Engine::Sqlite | Engine::Postgres => "TEXT",
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

/// Inside an apply's transaction, replaces the resource's record: removes the old one, and
/// writes `record` when there is one. Creates the table first except where DDL would commit
/// the transaction: there [`create_table_sql`] runs before it starts.
pub(crate) async fn write<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    resource: &str,
    record: Option<Record>,
) -> sqlx::Result<()> {
    if !B::DDL_COMMITS {
        B::execute(conn, create_table_sql(d), &[]).await?;
    }
    B::execute(conn, delete_sql(d), &[Arg::Text(resource)]).await?;
    if let Some(r) = record {
        let aside = serde_json::to_string(&r.aside).expect("plan details serialise");
        let args = [resource, &r.inputs, &r.state, &aside, &r.applied_at].map(Arg::Text);
        B::execute(conn, insert_sql(d), &args).await?;
    }
    Ok(())
}

/// The record of a resource; `None` when there is none, or no inputs table, or the database
/// does not exist yet. A record that cannot be read (written by a later version) counts as
/// none: the plan then takes the full path.
pub async fn read(db: &Database, resource: &str) -> Result<Option<Record>> {
    let result = match &db.pool {
        None => return Ok(None),
        Some(Pool::Sqlite(p)) => read_pool(db.dialect, p, resource).await,
        Some(Pool::Postgres(p)) => read_pool(db.dialect, p, resource).await,
        Some(Pool::MySql(p)) => read_pool(db.dialect, p, resource).await,
    };
    result.map_err(|e| db.error(e))
}

async fn read_pool<B: Backend>(
    d: Dialect,
    pool: &sqlx::Pool<B>,
    resource: &str,
) -> sqlx::Result<Option<Record>> {
    let mut conn = pool.acquire().await?;
    if super::read::columns::<B>(&mut conn, d, INPUTS_TABLE)
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    let sql = format!(
        "SELECT inputs, state, aside, applied_at FROM {} WHERE resource = {}",
        d.quote(INPUTS_TABLE),
        d.placeholder(1)
    );
    let rows = B::fetch_all(&mut conn, sql, &[Arg::Text(resource)], &[Cast::Text; 4]).await?;
    let Some(
        [
            Value::Text(inputs),
            Value::Text(state),
            Value::Text(aside),
            Value::Text(applied_at),
        ],
    ) = rows
        .into_iter()
        .next()
        .map(<[Value; 4]>::try_from)
        .and_then(Result::ok)
    else {
        return Ok(None);
    };
    let Ok(aside) = serde_json::from_str::<Aside>(&aside) else {
        return Ok(None);
    };
    Ok(Some(Record {
        inputs,
        state,
        aside,
        applied_at,
    }))
}
