//! Locks, so that two applies (or an apply and a `plan --lock`) against one table never
//! interleave.
//!
//! Each backend uses what it has (its `Backend::begin_locked`, `lock` and `release`), and each
//! lock dies with its holder, so a killed apply never leaves a lock behind:
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
use std::time::Duration;

use crate::error::Error;

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
    pub(crate) fn holder(&self) -> String {
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

    pub(crate) fn note_path(&self) -> Option<PathBuf> {
        self.sqlite_file.as_ref().map(|f| {
            let mut name = f.as_os_str().to_os_string();
            name.push("-reconcile-lock");
            PathBuf::from(name)
        })
    }

    /// The error of a lock another holds (`who`, when it can be told).
    pub(crate) fn contended(&self, who: Option<String>) -> Error {
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

    pub(crate) fn sql_error(&self, e: sqlx::Error) -> Error {
        Error::Database {
            url: self.url.clone(),
            message: format!("cannot take the lock: {e}"),
            help: None,
        }
    }

    /// The advisory lock key: the table's name hashed to 64 bits.
    pub(crate) fn key(&self) -> i64 {
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
