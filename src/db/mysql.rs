//! MySQL and MariaDB: a named lock (`GET_LOCK`) per database and table, held by the session
//! until released after the transaction ends; tables created before the transaction, since
//! DDL commits it; and new rows in multi-row INSERTs whose keys are told by the server.

use sqlx::{Connection as _, Row as _};

use super::backend::{Backend, bind_all, insert_returning};
use super::batch::{batch_bytes, byte_chunks, row_bytes};
use super::error::{ApplyError, at_row, count_mismatch, stop_if_interrupted};
use super::lock::LockRequest;
use super::rows::Arg;
use super::statements::Insert;
use crate::error::{Error, Result};
use crate::value::Value;

impl Backend for sqlx::MySql {
    const DDL_COMMITS: bool = true;

    /// A waiter names the holding connection from the process list.
    async fn begin_locked<'c>(
        conn: &'c mut sqlx::MySqlConnection,
        req: &LockRequest,
    ) -> Result<sqlx::Transaction<'c, sqlx::MySql>> {
        if let Err(name) = get_lock(conn, req).await? {
            let who = holder(conn, &name).await;
            return Err(req.contended(who));
        }
        conn.begin().await.map_err(|e| req.sql_error(e))
    }

    async fn lock(conn: &mut sqlx::MySqlConnection, req: &LockRequest) -> Result<()> {
        match get_lock(conn, req).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(req.contended(None)),
        }
    }

    async fn release(conn: &mut sqlx::MySqlConnection, req: &LockRequest) {
        if let Ok(name) = lock_name(conn, req).await {
            let _ = sqlx::query("SELECT RELEASE_LOCK(?)")
                .bind(name)
                .execute(&mut *conn)
                .await;
        }
    }

    /// A statement and all its values must fit in `max_allowed_packet`.
    async fn max_statement_bytes(conn: &mut sqlx::MySqlConnection) -> sqlx::Result<usize> {
        let packet: i64 = sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS SIGNED)")
            .fetch_one(&mut *conn)
            .await?;
        Ok(batch_bytes(Some(packet)))
    }

    /// MySQL has no INSERT … RETURNING; MariaDB has it since 10.5. For an AUTO_INCREMENT key
    /// both get multi-row INSERTs: with `innodb_autoinc_lock_mode` 0 or 1 (MariaDB's default
    /// and MySQL's before 8.0) InnoDB gives the rows of one such statement consecutive keys,
    /// the first being `LAST_INSERT_ID()`, spaced by `auto_increment_increment`. Otherwise
    /// MariaDB uses multi-row INSERT … RETURNING, and MySQL inserts one row per statement.
    async fn insert_rows(
        conn: &mut sqlx::MySqlConnection,
        ins: &Insert<'_>,
        rows: &[&[Value]],
    ) -> std::result::Result<Vec<String>, ApplyError> {
        let settings = sqlx::query(
            "SELECT CAST(@@innodb_autoinc_lock_mode AS SIGNED), \
             CAST(@@auto_increment_increment AS SIGNED), VERSION()",
        )
        .fetch_one(&mut *conn)
        .await?;
        let lock_mode: i64 = settings.try_get(0)?;
        let increment: i64 = settings.try_get(1)?;
        let version: String = settings.try_get(2)?;
        let mariadb = version.to_ascii_lowercase().contains("mariadb");
        if ins.generated_int_key && lock_mode <= 1 {
            consecutive_keys(conn, ins, rows, increment).await
        } else if mariadb {
            insert_returning::<Self>(conn, ins, rows).await
        } else if ins.generated_int_key {
            let mut keys = Vec::with_capacity(rows.len());
            for values in rows {
                keys.push(
                    insert(conn, ins, &[values])
                        .await?
                        .last_insert_id()
                        .to_string(),
                );
            }
            Ok(keys)
        } else {
            Err(ApplyError::Other(Error::Plan {
                message: format!(
                    "the primary key {:?} of table {:?} is not AUTO_INCREMENT, and MySQL cannot \
                     return the key it gave a new row",
                    ins.spec.primary_key, ins.spec.table
                ),
                help: Some(
                    "make the key AUTO_INCREMENT, or use MariaDB 10.5 or later, which has \
                     INSERT … RETURNING"
                        .into(),
                ),
            }))
        }
    }
}

/// Multi-row INSERTs whose rows get consecutive keys `increment` apart from the first.
async fn consecutive_keys(
    conn: &mut sqlx::MySqlConnection,
    ins: &Insert<'_>,
    rows: &[&[Value]],
    increment: i64,
) -> std::result::Result<Vec<String>, ApplyError> {
    let mut keys = Vec::with_capacity(rows.len());
    let mut start = 0;
    for chunk in byte_chunks(rows, ins.batch(), ins.max_bytes, |r| row_bytes(r)) {
        stop_if_interrupted()?;
        let done = insert(conn, ins, chunk)
            .await
            .map_err(|e| at_row(e, start))?;
        if done.rows_affected() != chunk.len() as u64 {
            return Err(count_mismatch(chunk.len(), done.rows_affected() as usize));
        }
        start += chunk.len();
        let first = done.last_insert_id() as i64;
        keys.extend((0..chunk.len() as i64).map(|i| (first + i * increment).to_string()));
    }
    Ok(keys)
}

/// One multi-row INSERT of `rows`: what the server says of it.
async fn insert(
    conn: &mut sqlx::MySqlConnection,
    ins: &Insert<'_>,
    rows: &[&[Value]],
) -> sqlx::Result<sqlx::mysql::MySqlQueryResult> {
    let args: Vec<Arg<'_>> = rows.iter().flat_map(|values| ins.args(values)).collect();
    let q = bind_all(
        sqlx::query(sqlx::AssertSqlSafe(ins.sql(rows.len(), false))),
        &args,
    );
    q.execute(&mut *conn).await
}

/// The lock's name: lock names are server-wide, so it holds the database too.
async fn lock_name(conn: &mut sqlx::MySqlConnection, req: &LockRequest) -> sqlx::Result<String> {
    sqlx::query_scalar(
        "SELECT CONCAT('reconcile:', LEFT(SHA2(CONCAT(COALESCE(DATABASE(), ''), '.', ?), 256), 40))",
    )
    .bind(&req.table)
    .fetch_one(&mut *conn)
    .await
}

/// Takes the table's named lock, waiting up to the request's timeout; when another session
/// holds it, the lock's name.
async fn get_lock(
    conn: &mut sqlx::MySqlConnection,
    req: &LockRequest,
) -> Result<std::result::Result<(), String>> {
    let name = lock_name(conn, req).await.map_err(|e| req.sql_error(e))?;
    let secs = i64::try_from(req.timeout.as_secs_f64().ceil() as u64).unwrap_or(i64::MAX);
    let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
        .bind(&name)
        .bind(secs)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| req.sql_error(e))?;
    Ok(if got == Some(1) { Ok(()) } else { Err(name) })
}

/// Who holds the named lock, in words; `None` when that cannot be told.
async fn holder(conn: &mut sqlx::MySqlConnection, name: &str) -> Option<String> {
    let id: i64 = sqlx::query_scalar("SELECT IS_USED_LOCK(?)")
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .ok()
        .flatten()?;
    let r = sqlx::query(
        "SELECT CAST(USER AS CHAR), CAST(HOST AS CHAR), CAST(TIME AS SIGNED) \
         FROM information_schema.PROCESSLIST WHERE ID = ?",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await;
    let Ok(Some(r)) = r else {
        return Some(format!("connection {id}"));
    };
    let user: String = r.try_get(0).unwrap_or_default();
    let host: String = r.try_get(1).unwrap_or_default();
    let time: i64 = r.try_get(2).unwrap_or_default();
    Some(format!(
        "connection {id} ({user}@{host}), in its current statement for {time}s"
    ))
}
