//! A small harness: a temporary workspace holding a copy of the shipped example, and a way
//! to run the real binary in it and read the resulting SQLite database.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::Row as _;

pub struct Workspace {
    pub dir: tempfile::TempDir,
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
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn copy(&self, rel: &str) {
        let to = self.path(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(rel), to).unwrap();
    }

    pub fn write(&self, rel: &str, text: &str) {
        let to = self.path(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, text).unwrap();
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

    /// Runs the binary in the workspace.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// Runs the binary with environment variables set (`Some`) or removed (`None`), after the
    /// defaults (`NO_COLOR=1`, no `DATABASE_URL`).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reconcile"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("DATABASE_URL")
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
        query(&self.db_path(), sql)
    }

    pub fn execute(&self, sql: &str) {
        execute(&self.db_path(), sql)
    }
}

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
