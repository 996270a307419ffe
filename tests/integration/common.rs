//! A small harness: a temporary workspace holding a copy of the shipped example, and a way
//! to run the real binary in it and read the resulting database.
//!
//! A workspace runs against SQLite by default. [`Workspace::seed_on`] gives one whose
//! database is a fresh, uniquely named database on a PostgreSQL or MySQL/MariaDB server (from
//! `RECONCILE_TEST_POSTGRES_URL` / `RECONCILE_TEST_MYSQL_URL`), dropped when the workspace is;
//! [`on_each_backend!`] turns one test body into a test per backend. Without the variable,
//! that backend's tests are reported as ignored, naming the variable to set (see `build.rs`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::Row as _;

pub struct Workspace {
    pub dir: tempfile::TempDir,
    /// The server database this workspace uses instead of SQLite, if any.
    pub server: Option<ServerDb>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn fails(self) -> Self {
        assert_eq!(
            self.code, 1,
            "expected exit code 1\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Workspace {
    /// A workspace with `specs/customers.yaml` and `examples/customers/` copied in.
    pub fn seed() -> Self {
        let ws = Workspace::empty();
        ws.copy("specs/customers.yaml");
        ws.copy("examples/customers/production_seeding.json");
        ws.copy("examples/customers/import_customers.csv");
        ws
    }

    pub fn empty() -> Self {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
            server: None,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Copies a file of the repository to the same place in the workspace.
    pub fn copy(&self, rel: &str) {
        let to = self.path(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(rel), to).unwrap();
    }

    pub fn write(&self, rel: &str, text: &str) {
        let to = self.path(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, text).unwrap();
    }

    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) {
        let to = self.path(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Replaces text in a workspace file; the text must be there.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// Runs the binary in the workspace (against its server database, if it has one).
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// Runs the binary with environment variables set (`Some`) or removed (`None`), after the
    /// defaults (`NO_COLOR=1`, `DATABASE_URL` pointing at the workspace's server if it has one).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reconcile"));
        match &self.server {
            Some(db) => cmd.env("DATABASE_URL", &db.url),
            None => cmd.env_remove("DATABASE_URL"),
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("CLICOLOR_FORCE")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .stdin(std::process::Stdio::null());
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let out: Output = cmd.output().expect("run reconcile");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.path("specs/reconcile.db")
    }

    /// Runs SQL against the workspace database and returns every row as text.
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match &self.server {
            Some(db) => db.query(sql),
            None => query(&self.db_path(), sql),
        }
    }

    pub fn execute(&self, sql: &str) {
        match &self.server {
            Some(db) => db.execute(sql),
            None => execute(&self.db_path(), sql),
        }
    }

    /// Runs SQL against the workspace database: the database's error, if it refused it.
    pub fn try_execute(&self, sql: &str) -> Result<(), String> {
        macro_rules! exec {
            ($pool:expr) => {{
                let pool = $pool;
                let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&pool)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string());
                pool.close().await;
                done
            }};
        }
        rt().block_on(async {
            match &self.server {
                None => {
                    let opts = sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(self.db_path())
                        .foreign_keys(true);
                    exec!(sqlx::SqlitePool::connect_with(opts).await.unwrap())
                }
                Some(db) if db.backend == Backend::Postgres => {
                    exec!(sqlx::PgPool::connect(&db.url).await.unwrap())
                }
                Some(db) => exec!(sqlx::MySqlPool::connect(&db.url).await.unwrap()),
            }
        })
    }

    /// The seed workspace on `backend`; `None` (after a note) when that server is not
    /// configured.
    pub fn seed_on(backend: Backend) -> Option<Self> {
        let mut ws = Workspace::seed();
        if backend != Backend::Sqlite {
            ws.server = Some(ServerDb::create(backend)?);
        }
        Some(ws)
    }

    pub fn backend(&self) -> Backend {
        self.server
            .as_ref()
            .map_or(Backend::Sqlite, |db| db.backend)
    }

    /// The URL of the workspace database.
    pub fn url(&self) -> String {
        match &self.server {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", self.db_path().display()),
        }
    }
}

/// The backends a test can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    /// Picks the SQL for this backend.
    pub fn pick<'a>(self, sqlite: &'a str, postgres: &'a str, mysql: &'a str) -> &'a str {
        match self {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
            Backend::MySql => mysql,
        }
    }

    fn env_var(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => "RECONCILE_TEST_POSTGRES_URL",
            Backend::MySql => "RECONCILE_TEST_MYSQL_URL",
        }
    }

    /// The server URL from the environment; prints once that the backend is skipped when
    /// it is not set.
    fn server_url(self) -> Option<String> {
        static NOTED: [std::sync::Once; 3] = [const { std::sync::Once::new() }; 3];
        match std::env::var(self.env_var()) {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                NOTED[self as usize].call_once(|| {
                    use std::io::Write as _;
                    // Written straight to stderr: the test harness hides `eprintln!` of
                    // passing tests, and this note must be seen.
                    let _ = writeln!(
                        std::io::stderr(),
                        "note: {self:?} tests skipped: {} is not set",
                        self.env_var()
                    );
                });
                None
            }
        }
    }
}

/// A uniquely named database on a server, created for one test and dropped after it.
pub struct ServerDb {
    pub backend: Backend,
    /// The URL of the test database.
    pub url: String,
    /// The URL the tests were given, used to create and drop the test database.
    admin_url: String,
    name: String,
}

/// `url` with its database (the path) replaced by `name`, keeping any query string.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, format!("?{q}")),
        None => (rest, String::new()),
    };
    let authority = before_query.split('/').next().unwrap();
    format!("{scheme}://{authority}/{name}{query}")
}

impl ServerDb {
    fn create(backend: Backend) -> Option<Self> {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let admin_url = backend.server_url()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "reconcile_t{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
            nanos % 100_000
        );
        let db = ServerDb {
            backend,
            url: with_database(&admin_url, &name),
            admin_url,
            name,
        };
        server_execute(
            backend,
            &db.admin_url,
            &format!("CREATE DATABASE {}", db.name),
        );
        Some(db)
    }

    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        server_query(self.backend, &self.url, sql)
    }

    pub fn execute(&self, sql: &str) {
        server_execute(self.backend, &self.url, sql)
    }
}

impl Drop for ServerDb {
    fn drop(&mut self) {
        let sql = match self.backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            _ => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        server_execute(self.backend, &self.admin_url, &sql);
    }
}

/// Runs SQL on a server over the text protocol: every value comes back as text.
fn server_query(backend: Backend, url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    macro_rules! rows {
        ($pool:ty) => {{
            let pool = <$pool>::connect(url).await.unwrap();
            let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_all(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let out = rows
                .iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.try_get_unchecked::<Option<String>, _>(i).unwrap())
                        .collect()
                })
                .collect();
            pool.close().await;
            out
        }};
    }
    rt().block_on(async {
        match backend {
            Backend::Postgres => rows!(sqlx::PgPool),
            Backend::MySql => rows!(sqlx::MySqlPool),
            Backend::Sqlite => unreachable!("SQLite workspaces use a file"),
        }
    })
}

fn server_execute(backend: Backend, url: &str, sql: &str) {
    macro_rules! exec {
        ($pool:ty) => {{
            let pool = <$pool>::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            pool.close().await;
        }};
    }
    rt().block_on(async {
        match backend {
            Backend::Postgres => exec!(sqlx::PgPool),
            Backend::MySql => exec!(sqlx::MySqlPool),
            Backend::Sqlite => unreachable!("SQLite workspaces use a file"),
        }
    })
}

/// Defines `mod $name` with one test per backend, each running `$body` on a fresh seed
/// workspace `$ws` whose database is on that backend.
macro_rules! on_each_backend {
    ($(#[$meta:meta])* fn $name:ident($ws:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::common::{Backend, Workspace};

            fn body($ws: Workspace) $body

            fn on(backend: Backend) {
                if let Some(ws) = Workspace::seed_on(backend) {
                    body(ws);
                }
            }

            #[test]
            fn sqlite() {
                on(Backend::Sqlite);
            }

            #[test]
            #[cfg_attr(
                not(reconcile_test_postgres),
                ignore = "set RECONCILE_TEST_POSTGRES_URL to run the PostgreSQL tests"
            )]
            fn postgres() {
                on(Backend::Postgres);
            }

            #[test]
            #[cfg_attr(
                not(reconcile_test_mysql),
                ignore = "set RECONCILE_TEST_MYSQL_URL to run the MySQL/MariaDB tests"
            )]
            fn mysql() {
                on(Backend::MySql);
            }
        }
    };
}
pub(crate) use on_each_backend;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn query(db: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    rt().block_on(async {
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(db);
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(&pool)
            .await
            .unwrap();
        let out = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        r.try_get::<Option<String>, _>(i)
                            .or_else(|_| {
                                r.try_get::<Option<i64>, _>(i)
                                    .map(|v| v.map(|v| v.to_string()))
                            })
                            .unwrap()
                    })
                    .collect()
            })
            .collect();
        pool.close().await;
        out
    })
}

pub fn execute(db: &Path, sql: &str) {
    rt().block_on(async {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(db)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    })
}
