//! The database edge: connecting by URL scheme, reading the current state, and writing
//! plans in one transaction.
//!
//! There is no `sqlx::Any` here: each database has its own concrete pool and implements the
//! one `Backend` trait (`sqlite.rs`, `postgres.rs`, `mysql.rs`); [`read`] and
//! [`apply()`] are plain generic functions over it, each dispatched once on the open pool. The
//! few statements the tool runs are built by [`Dialect`] and `statements.rs` with validated,
//! quoted identifiers and bound values. What an apply writes is decided before any I/O, in a
//! [`WriteSet`].

pub mod apply;
mod aside;
pub(crate) mod backend;
mod batch;
pub mod check;
mod chunks;
pub mod claims;
pub mod dialect;
mod error;
pub mod inputs;
pub mod interrupt;
pub mod lock;
mod mysql;
mod nodelay;
mod postgres;
pub mod read;
mod rows;
mod sqlite;
pub(crate) mod sqlite_bulk;
pub mod state_edit;
pub(crate) mod statements;
pub mod writeset;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::{ConnectOptions as _, Connection as _};

use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

pub use apply::{Applied, Failed, apply};
pub use dialect::{Dialect, Engine};
pub use writeset::WriteSet;

use crate::error::{Error, Result};

/// The name of the table where the tool records which rows it manages.
pub const STATE_TABLE: &str = "reconcile_state";

/// An open connection pool to one of the supported backends.
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// A database to plan against or apply to.
pub struct Database {
    /// The URL as given (never shown: see [`Database::display_url`]).
    pub(crate) url: String,
    pub dialect: Dialect,
    /// `None` for an SQLite file that does not exist yet: it reads as empty.
    pub pool: Option<Pool>,
}

impl Database {
    /// The URL with any password removed.
    pub fn display_url(&self) -> String {
        crate::error::redact_url(&self.url)
    }

    pub fn error(&self, e: impl std::fmt::Display) -> Error {
        Error::database(&self.url, scrub(&self.url, e.to_string()))
    }

    /// An error message about this database with any trace of its password removed.
    pub fn scrub(&self, message: String) -> String {
        scrub(&self.url, message)
    }

    /// Opens the database to read it. A missing SQLite file is not created: it reads as an
    /// empty database, so `plan` writes nothing.
    pub async fn open_read(url: &str) -> Result<Database> {
        Self::open(url, false).await
    }

    /// Opens the database to write it, creating an SQLite file if needed.
    pub async fn open_write(url: &str) -> Result<Database> {
        Self::open(url, true).await
    }

    async fn open(url: &str, write: bool) -> Result<Database> {
        let engine = Engine::from_url(url).ok_or_else(|| Error::Database {
            url: crate::error::redact_url(url),
            message: "unknown database URL scheme".into(),
            help: Some(
                "use sqlite://path/to/file.db, postgres://user@host/db or mysql://user@host/db"
                    .into(),
            ),
        })?;
        let err = |e: sqlx::Error| connect_error(url, engine, e);
        let pool = match engine {
            Engine::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url).map_err(err)?;
                let memory = url.contains(":memory:") || url.contains("mode=memory");
                let exists = memory || opts.get_filename().exists();
                if !write && !exists {
                    None
                } else {
                    let opts = opts
                        .create_if_missing(write)
                        .read_only(!write)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true);
                    let pool = SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(opts)
                        .await
                        .map_err(err)?;
                    Some(Pool::Sqlite(pool))
                }
            }
            Engine::Postgres => {
                let opts = PgConnectOptions::from_str(url).map_err(err)?;
                Some(Pool::Postgres(connect_server(opts).await.map_err(err)?))
            }
            Engine::MySql => {
                let opts = MySqlConnectOptions::from_str(url).map_err(err)?;
                // Without one, the server connects to no database: every catalog query finds
                // nothing (so the plan says the table will be created), and the apply fails
                // with "No database selected".
                if opts.get_database().is_none_or(str::is_empty) {
                    return Err(Error::Database {
                        url: crate::error::redact_url(url),
                        message: "the URL names no database".into(),
                        help: Some(format!(
                            "add it after the host, e.g. {}",
                            example_with_database(url)
                        )),
                    });
                }
                Some(Pool::MySql(connect_server(opts).await.map_err(err)?))
            }
        };
        Ok(Database {
            url: url.to_string(),
            dialect: Dialect::new(engine),
            pool,
        })
    }

    pub async fn close(self) {
        match self.pool {
            None => {}
            Some(Pool::Sqlite(p)) => p.close().await,
            Some(Pool::Postgres(p)) => p.close().await,
            Some(Pool::MySql(p)) => p.close().await,
        }
    }

    /// Runs a query a user wrote (an SQL source) over the simple (text) protocol, so every
    /// value arrives as text whatever its column type, and hands each row (its columns by
    /// name, in order) to `each` as it arrives. A database that does not exist has no rows.
    pub async fn text_rows(
        &self,
        query: &str,
        mut each: impl FnMut(Vec<(String, Option<String>)>),
    ) -> sqlx::Result<()> {
        match &self.pool {
            None => Ok(()),
            Some(Pool::Sqlite(p)) => backend::text_rows(p, query, &mut each).await,
            Some(Pool::Postgres(p)) => backend::text_rows(p, query, &mut each).await,
            Some(Pool::MySql(p)) => backend::text_rows(p, query, &mut each).await,
        }
    }
}

/// A pool of connections to a server, after one plain attempt: the pool would retry a
/// refused connection until its timeout, where the user is better served by the reason at
/// once. Each connection sends without delay ([`nodelay`]).
async fn connect_server<DB: sqlx::Database>(
    opts: <DB::Connection as sqlx::Connection>::Options,
) -> sqlx::Result<sqlx::Pool<DB>> {
    opts.connect().await?.close().await?;
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|_, _| {
            Box::pin(async {
                nodelay::on_every_tcp_socket();
                Ok(())
            })
        })
        .connect_with(opts)
        .await
}

/// Removes the URL's password from a message, should a driver ever quote it. URLs are
/// shown through [`crate::error::redact_url`]; this is the second line of defence.
///
/// PostgreSQL's messages also lose the line of the server's own source file that sqlx adds
/// (`role "x" does not exist at line 768`): it tells users nothing.
pub fn scrub(url: &str, message: String) -> String {
    let message = crate::error::scrub_url(url, &message);
    if Engine::from_url(url) == Some(Engine::Postgres) {
        static SERVER_LINE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r" at line \d+\b").expect("a valid pattern")
        });
        return SERVER_LINE.replace_all(&message, "").into_owned();
    }
    message
}

fn connect_error(url: &str, engine: Engine, e: sqlx::Error) -> Error {
    let help = match engine {
        Engine::Sqlite => "check the path in the URL and that its folder exists",
        Engine::Postgres | Engine::MySql => {
            "check that the server is running and that the URL's host, port, user and database are right"
        }
    };
    let text = e.to_string();
    let tls = if text.contains("does not support TLS") {
        Some(
            "the server does not offer TLS and the URL requires it: enable TLS on the server, \
             or let the URL fall back (PostgreSQL `sslmode=prefer`, MySQL `ssl-mode=PREFERRED`)",
        )
    } else if text.contains("peer certificate") || text.contains("certificate") {
        Some(
            "the server's TLS certificate is not trusted for this host: give its CA in the URL \
             (PostgreSQL `sslrootcert=/path/ca.pem`, MySQL `ssl-ca=/path/ca.pem`) and connect by \
             the host name the certificate holds; `sslmode=verify-ca` (MySQL \
             `ssl-mode=VERIFY_CA`) checks the CA but not the name",
        )
    } else {
        None
    };
    let help = crate::error::url_password_help(url)
        .or_else(|| tls.map(String::from))
        .unwrap_or_else(|| help.into());
    Error::Database {
        url: crate::error::redact_url(url),
        message: scrub(url, format!("cannot connect: {e}")),
        help: Some(help),
    }
}

/// `url` with `/app` as its database, for messages (any password masked).
fn example_with_database(url: &str) -> String {
    let shown = crate::error::redact_url(url);
    let (base, query) = match shown.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (shown.clone(), String::new()),
    };
    format!("{}/app{query}", base.trim_end_matches('/'))
}

/// The URL used when none is given: an SQLite file `reconcile.db` beside the spec.
pub fn default_url(spec_file: &Path) -> String {
    let dir = spec_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    format!("sqlite://{}", dir.join("reconcile.db").display())
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_lose_the_password() {
        assert_eq!(
            super::scrub(
                "postgres://u:hunter2@h/db",
                "auth failed for u:hunter2@h".into()
            ),
            "auth failed for u:***@h"
        );
        assert_eq!(super::scrub("sqlite://x.db", "x".into()), "x");
    }

    #[test]
    fn the_example_url_names_a_database() {
        assert_eq!(
            super::example_with_database("mysql://host:3306"),
            "mysql://host:3306/app"
        );
        assert_eq!(
            super::example_with_database("mysql://u:secret@host:3306/?ssl-mode=required"),
            "mysql://u:***@host:3306/app?ssl-mode=required"
        );
    }
}
