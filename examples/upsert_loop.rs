//! The baseline `reconcile apply` replaces: what a hand-written seeding script does, one
//! `SELECT` and then one `INSERT` or `UPDATE` per record. Used by `benches/scale.sh` to show
//! the difference.
//!
//! Two modes:
//! - by default everything runs in one transaction, which is generous to the script;
//! - `--autocommit` commits every statement on its own, which is what a seeding command
//!   without an explicit transaction does (a Django management command without
//!   `transaction.atomic`, for instance).
//!
//! ```sh
//! cargo run --release --example upsert_loop -- sqlite://target/loop.db target/generated/a.csv
//! cargo run --release --example upsert_loop -- --autocommit --limit 20000 \
//!     postgres://postgres@127.0.0.1/bench target/generated/a.csv
//! ```
//!
//! The CSV is the generator's (`id,name,email,phone,city`); rows are matched on email, as the
//! old scripts matched on a natural key. `--limit N` stops after the first N records and
//! `--max-seconds S` once S seconds have passed (for the slow mode at large sizes: its rows/s
//! hardly depends on how many rows it does). Prints `rows seconds` on stdout: the rows done.

use std::str::FromStr;
use std::time::Instant;

use sqlx::{AssertSqlSafe, Connection};

/// One SELECT, then one INSERT or UPDATE, for every row, on the executor `$ex` (a connection
/// or a transaction), until the rows or the time budget run out; evaluates to the rows done.
macro_rules! upsert_rows {
    ($ex:expr, $rows:expr, $sql:expr, $until:expr) => {{
        let (select, insert, update) = $sql;
        let mut done = 0;
        for (n, r) in $rows.iter().enumerate() {
            if n % 100 == 0 && $until.is_some_and(|t| Instant::now() >= t) {
                break;
            }
            done += 1;
            let found: Option<(i64,)> = sqlx::query_as(AssertSqlSafe(select.clone()))
                .bind(r[2].clone())
                .fetch_optional(&mut *$ex)
                .await?;
            match found {
                Some((id,)) => {
                    sqlx::query(AssertSqlSafe(update.clone()))
                        .bind(r[1].clone())
                        .bind(r[3].clone())
                        .bind(r[4].clone())
                        .bind(id)
                        .execute(&mut *$ex)
                        .await?;
                }
                None => {
                    sqlx::query(AssertSqlSafe(insert.clone()))
                        .bind(n as i64 + 1)
                        .bind(r[1].clone())
                        .bind(r[2].clone())
                        .bind(r[3].clone())
                        .bind(r[4].clone())
                        .execute(&mut *$ex)
                        .await?;
                }
            }
        }
        done
    }};
}

/// Creates the table, then times the loop over `$rows` in the chosen mode; evaluates to the
/// rows done and the seconds taken.
macro_rules! run_loop {
    ($conn:expr, $rows:expr, $ph:expr, $autocommit:expr, $budget:expr) => {{
        let conn = $conn;
        let ph: fn(usize) -> String = $ph;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS loop_businesses (id BIGINT PRIMARY KEY, name TEXT, email VARCHAR(255) UNIQUE, phone TEXT, city TEXT)",
        )
        .execute(&mut *conn)
        .await?;
        let sql = (
            format!("SELECT id FROM loop_businesses WHERE email = {}", ph(1)),
            format!(
                "INSERT INTO loop_businesses (id, name, email, phone, city) VALUES ({}, {}, {}, {}, {})",
                ph(1),
                ph(2),
                ph(3),
                ph(4),
                ph(5)
            ),
            format!(
                "UPDATE loop_businesses SET name = {}, phone = {}, city = {} WHERE id = {}",
                ph(1),
                ph(2),
                ph(3),
                ph(4)
            ),
        );
        let start = Instant::now();
        let until: Option<Instant> = $budget.map(|b| start + b);
        let done = if $autocommit {
            upsert_rows!(conn, $rows, sql, until)
        } else {
            let mut tx = conn.begin().await?;
            let done = upsert_rows!(tx, $rows, sql, until);
            tx.commit().await?;
            done
        };
        (done, start.elapsed().as_secs_f64())
    }};
}

const USAGE: &str = "usage: upsert_loop [--autocommit] [--limit N] [--max-seconds S] URL FILE.csv";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut autocommit = false;
    let mut limit = usize::MAX;
    let mut budget = None;
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--autocommit" => autocommit = true,
            "--limit" => {
                limit = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--limit needs a number of records")?
            }
            "--max-seconds" => {
                budget = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .map(std::time::Duration::from_secs_f64)
                        .ok_or("--max-seconds needs a number of seconds")?,
                )
            }
            flag if flag.starts_with("--") => {
                return Err(format!("unknown flag {flag}; {USAGE}").into());
            }
            _ => positional.push(a),
        }
    }
    let [url, file] = <[String; 2]>::try_from(positional).map_err(|_| USAGE)?;
    let mut reader = csv::Reader::from_path(&file)?;
    let rows: Vec<Vec<String>> = reader
        .records()
        .take(limit)
        .map(|r| r.map(|r| r.iter().map(String::from).collect()))
        .collect::<Result<_, _>>()?;
    let (done, seconds) = if url.starts_with("sqlite:") {
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?.create_if_missing(true);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await?;
        run_loop!(&mut c, rows, |_| "?".to_string(), autocommit, budget)
    } else if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&url).await?;
        run_loop!(&mut c, rows, |n| format!("${n}"), autocommit, budget)
    } else {
        let mut c = sqlx::MySqlConnection::connect(&url).await?;
        run_loop!(&mut c, rows, |_| "?".to_string(), autocommit, budget)
    };
    println!("{done} {seconds:.3}");
    Ok(())
}
