//! Locks, so that two applies (or an apply and a `plan --lock`) against one table never
//! interleave.
//!
//! Each backend uses what it has, and each lock dies with its holder, so a killed apply never
//! leaves a lock behind:
//! - PostgreSQL: a transaction-level advisory lock (`pg_try_advisory_xact_lock`, polled until
//!   the timeout), keyed by the table. The holder names itself in `application_name`, so a
//!   waiter can say who holds the lock and since when (`pg_stat_activity.xact_start`).
//! - MySQL/MariaDB: a named lock (`GET_LOCK`) for the database and table, held by the session
//!   until released after the transaction ends. A waiter names the holding connection from
//!   the process list.
//! - SQLite: `BEGIN IMMEDIATE`, which takes the database's write lock, with the busy timeout
//!   set to the lock timeout. SQLite cannot say who holds its lock, so the holder writes a
//!   small note beside the database file (`<file>-reconcile-lock`) and removes it when done.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::{Connection as _, Row as _};

use crate::error::{Error, Result};

/// What to lock, for how long to wait, and how the holder describes itself.
#[derive(Debug, Clone)]
pub struct LockRequest {
    /// The target table; the lock covers it (SQLite: the whole database file).
    pub table: String,
    /// How long to wait for another holder; zero fails at once.
    pub timeout: Duration,
    /// `apply` or `plan`, shown to whoever waits.
    pub command: &'static str,
    /// The database URL without secrets, for messages.
    pub url: String,
    /// The SQLite database file, where the holder note goes.
    pub sqlite_file: Option<PathBuf>,
}

impl LockRequest {
    /// A request for `table` in the database at `url`.
    pub fn new(url: &str, table: &str, timeout: Duration, command: &'static str) -> Self {
        let sqlite_file = url
            .strip_prefix("sqlite:")
            .map(|rest| rest.trim_start_matches("//"))
            .map(|rest| rest.split('?').next().unwrap_or(rest))
            .filter(|p| !p.is_empty() && !p.contains(":memory:"))
            .map(PathBuf::from);
        LockRequest {
            table: table.to_string(),
            timeout,
            command,
            url: crate::error::redact_url(url),
            sqlite_file,
        }
    }

    /// How this process describes itself to a waiter.
    fn holder(&self) -> String {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown host".into());
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown user".into());
        format!(
            "reconcile {} (pid {} on {host}, user {user})",
            self.command,
            std::process::id()
        )
    }

    fn note_path(&self) -> Option<PathBuf> {
        self.sqlite_file.as_ref().map(|f| {
            let mut name = f.as_os_str().to_os_string();
            name.push("-reconcile-lock");
            PathBuf::from(name)
        })
    }

    fn contended(&self, who: Option<String>) -> Error {
        let waited = if self.timeout.is_zero() {
            String::new()
        } else {
            format!(" after waiting {}", format_duration(self.timeout))
        };
        Error::Database {
            url: self.url.clone(),
            message: format!(
                "table {} is locked{waited}, held by {}",
                self.table,
                who.unwrap_or_else(|| "another connection that does not say who it is".into())
            ),
            help: Some(
                "wait for it to finish, or pass --lock-timeout (e.g. --lock-timeout 5m) to wait \
                 for the lock"
                    .into(),
            ),
        }
    }

    fn sql_error(&self, e: sqlx::Error) -> Error {
        Error::Database {
            url: self.url.clone(),
            message: format!("cannot take the lock: {e}"),
            help: None,
        }
    }

    /// The advisory lock key: the table's name hashed to 64 bits.
    fn key(&self) -> i64 {
        crate::fingerprint::lock_key(&self.table)
    }
}

/// `1.5s`, `2m`, `500ms`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. `30s`, `5m` or `0s`"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{text}`; use ms, s, m or h"
            ));
        }
    };
    if !secs.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&secs) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn format_duration(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Taking and releasing the lock on one concrete connection type.
pub(crate) trait Locking: sqlx::Connection {
    /// Begins a transaction that holds the lock, or fails with who holds it.
    async fn begin_locked(
        &mut self,
        req: &LockRequest,
    ) -> Result<sqlx::Transaction<'_, Self::Database>>;

    /// Inside a transaction begun with [`Locking::begin_locked`], takes the lock of one more
    /// table (an apply of several resources holds each table's lock). Release it with
    /// [`Locking::release`] too.
    async fn lock_also(&mut self, req: &LockRequest) -> Result<()>;

    /// Releases what the end of the transaction did not. Call after commit or rollback.
    async fn release(&mut self, req: &LockRequest);
}

fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| {
        matches!(d.code().as_deref(), Some("5" | "6" | "261" | "517"))
            || d.message().contains("database is locked")
    })
}

impl Locking for sqlx::SqliteConnection {
    async fn begin_locked(
        &mut self,
        req: &LockRequest,
    ) -> Result<sqlx::Transaction<'_, sqlx::Sqlite>> {
        let ms = req.timeout.as_millis().min(i32::MAX as u128);
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA busy_timeout = {ms}")))
            .execute(&mut *self)
            .await
            .map_err(|e| req.sql_error(e))?;
        let note = req.note_path();
        match self.begin_with("BEGIN IMMEDIATE").await {
            Ok(mut tx) => {
                // Once the lock is held, waiting on readers at commit is normal: give it time.
                sqlx::query("PRAGMA busy_timeout = 10000")
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| req.sql_error(e))?;
                if let Some(note) = &note {
                    let text = format!("{} since {}\n", req.holder(), crate::time::now_rfc3339());
                    // The note only helps a waiter; failing to write it is not fatal.
                    let _ = std::fs::write(note, text);
                }
                Ok(tx)
            }
            Err(e) if is_sqlite_busy(&e) => {
                let who = note
                    .and_then(|n| std::fs::read_to_string(n).ok())
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty());
                Err(req.contended(who))
            }
            Err(e) => Err(req.sql_error(e)),
        }
    }

    async fn lock_also(&mut self, _req: &LockRequest) -> Result<()> {
        // BEGIN IMMEDIATE already holds the whole file.
        Ok(())
    }

    async fn release(&mut self, req: &LockRequest) {
        if let Some(note) = req.note_path() {
            let _ = std::fs::remove_file(note);
        }
    }
}

impl Locking for sqlx::PgConnection {
    async fn begin_locked(
        &mut self,
        req: &LockRequest,
    ) -> Result<sqlx::Transaction<'_, sqlx::Postgres>> {
        let mut tx = self.begin().await.map_err(|e| req.sql_error(e))?;
        sqlx::query("SELECT set_config('application_name', $1, true)")
            .bind(req.holder())
            .execute(&mut *tx)
            .await
            .map_err(|e| req.sql_error(e))?;
        let key = req.key();
        let deadline = Instant::now() + req.timeout;
        loop {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(key)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| req.sql_error(e))?;
            if got {
                return Ok(tx);
            }
            if Instant::now() >= deadline {
                let who = sqlx::query(
                    "SELECT CAST(a.pid AS BIGINT), COALESCE(a.application_name, ''), \
                     COALESCE(CAST(a.usename AS TEXT), ''), COALESCE(host(a.client_addr), 'local socket'), \
                     COALESCE(to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') \
                     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                     WHERE l.locktype = 'advisory' AND l.granted \
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                     AND CAST(l.classid AS BIGINT) = $1 AND CAST(l.objid AS BIGINT) = $2 AND l.objsubid = 1",
                )
                .bind((key >> 32) & 0xffff_ffff)
                .bind(key & 0xffff_ffff)
                .fetch_optional(&mut *tx)
                .await
                .ok()
                .flatten()
                .map(|r| {
                    let pid: i64 = r.try_get(0).unwrap_or_default();
                    let app: String = r.try_get(1).unwrap_or_default();
                    let user: String = r.try_get(2).unwrap_or_default();
                    let addr: String = r.try_get(3).unwrap_or_default();
                    let since: String = r.try_get(4).unwrap_or_default();
                    let app = if app.is_empty() { "a session".to_string() } else { app };
                    format!("{app}, server process {pid}, database user {user} from {addr}, since {since}")
                });
                let _ = tx.rollback().await;
                return Err(req.contended(who));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn lock_also(&mut self, req: &LockRequest) -> Result<()> {
        let deadline = Instant::now() + req.timeout;
        loop {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(req.key())
                .fetch_one(&mut *self)
                .await
                .map_err(|e| req.sql_error(e))?;
            if got {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(req.contended(None));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn release(&mut self, _req: &LockRequest) {
        // The advisory lock is transaction-level: commit or rollback released it.
    }
}

/// The MySQL lock name: lock names are server-wide, so it holds the database too.
const MYSQL_LOCK_NAME: &str =
    "SELECT CONCAT('reconcile:', LEFT(SHA2(CONCAT(COALESCE(DATABASE(), ''), '.', ?), 256), 40))";

impl Locking for sqlx::MySqlConnection {
    async fn begin_locked(
        &mut self,
        req: &LockRequest,
    ) -> Result<sqlx::Transaction<'_, sqlx::MySql>> {
        let name: String = sqlx::query_scalar(MYSQL_LOCK_NAME)
            .bind(&req.table)
            .fetch_one(&mut *self)
            .await
            .map_err(|e| req.sql_error(e))?;
        let secs = i64::try_from(req.timeout.as_secs_f64().ceil() as u64).unwrap_or(i64::MAX);
        let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
            .bind(&name)
            .bind(secs)
            .fetch_one(&mut *self)
            .await
            .map_err(|e| req.sql_error(e))?;
        if got != Some(1) {
            let holder: Option<i64> = sqlx::query_scalar("SELECT IS_USED_LOCK(?)")
                .bind(&name)
                .fetch_one(&mut *self)
                .await
                .ok()
                .flatten();
            let mut who = holder.map(|id| format!("connection {id}"));
            if let Some(id) = holder
                && let Ok(Some(r)) = sqlx::query(
                    "SELECT CAST(USER AS CHAR), CAST(HOST AS CHAR), CAST(TIME AS SIGNED) \
                     FROM information_schema.PROCESSLIST WHERE ID = ?",
                )
                .bind(id)
                .fetch_optional(&mut *self)
                .await
            {
                let user: String = r.try_get(0).unwrap_or_default();
                let host: String = r.try_get(1).unwrap_or_default();
                let time: i64 = r.try_get(2).unwrap_or_default();
                who = Some(format!(
                    "connection {id} ({user}@{host}), in its current statement for {time}s"
                ));
            }
            return Err(req.contended(who));
        }
        self.begin().await.map_err(|e| req.sql_error(e))
    }

    async fn lock_also(&mut self, req: &LockRequest) -> Result<()> {
        let name: String = sqlx::query_scalar(MYSQL_LOCK_NAME)
            .bind(&req.table)
            .fetch_one(&mut *self)
            .await
            .map_err(|e| req.sql_error(e))?;
        let secs = i64::try_from(req.timeout.as_secs_f64().ceil() as u64).unwrap_or(i64::MAX);
        let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
            .bind(&name)
            .bind(secs)
            .fetch_one(&mut *self)
            .await
            .map_err(|e| req.sql_error(e))?;
        if got == Some(1) {
            Ok(())
        } else {
            Err(req.contended(None))
        }
    }

    async fn release(&mut self, req: &LockRequest) {
        if let Ok(name) = sqlx::query_scalar::<_, String>(MYSQL_LOCK_NAME)
            .bind(&req.table)
            .fetch_one(&mut *self)
            .await
        {
            let _ = sqlx::query("SELECT RELEASE_LOCK(?)")
                .bind(name)
                .execute(&mut *self)
                .await;
        }
    }
}

/// Reads the current state while holding the lock (`plan --lock`): waits for a running apply
/// to finish instead of planning against rows about to change.
pub async fn read_locked(
    db: &super::Database,
    spec: &crate::spec::compiled::Compiled,
    req: &LockRequest,
) -> Result<super::read::CurrentState> {
    let Some(pool) = &db.pool else {
        return super::read::read(db, spec).await;
    };
    let d = db.dialect;
    super::on_pool!(pool, p => {
        let mut conn = p.acquire().await.map_err(|e| db.error(e))?;
        let result = async {
            let mut tx = Locking::begin_locked(&mut *conn, req).await?;
            let state = super::read::read_on!(&mut *tx, d, spec).map_err(|e| match e {
                super::read::ReadError::Sql(e) => db.error(e),
                super::read::ReadError::Spec(e) => e,
            });
            let _ = tx.rollback().await;
            state
        }
        .await;
        Locking::release(&mut *conn, req).await;
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn sqlite_note_sits_beside_the_file() {
        let r = LockRequest::new(
            "sqlite://specs/reconcile.db?mode=rwc",
            "t",
            Duration::ZERO,
            "apply",
        );
        assert_eq!(
            r.note_path().unwrap(),
            PathBuf::from("specs/reconcile.db-reconcile-lock")
        );
        assert!(
            LockRequest::new("sqlite::memory:", "t", Duration::ZERO, "apply")
                .note_path()
                .is_none()
        );
    }
}
