//! The baseline `reconcile apply` replaces: what a hand-written seeding script does, one
//! `SELECT` and then one `INSERT` or `UPDATE` per record. Used by `benches/scale.sh` to show
//! the difference. It is generous to the script: everything runs in one transaction.
//!
//! ```sh
//! cargo run --release --example upsert_loop -- sqlite://target/loop.db target/generated/a.csv
//! ```
//!
//! The CSV is the generator's (`id,name,email,phone,city`); rows are matched on email, as the
//! old scripts matched on a natural key. Prints `rows seconds` on stdout.

use std::str::FromStr;
use std::time::Instant;

use sqlx::{AssertSqlSafe, Connection};

macro_rules! run_loop {
    ($conn:expr, $rows:expr, $ph:expr) => {{
        let conn = $conn;
        let ph: fn(usize) -> String = $ph;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS loop_businesses (id BIGINT PRIMARY KEY, name TEXT, email VARCHAR(255) UNIQUE, phone TEXT, city TEXT)",
        )
        .execute(&mut *conn)
        .await?;
        let start = Instant::now();
        let mut tx = conn.begin().await?;
        let select = format!("SELECT id FROM loop_businesses WHERE email = {}", ph(1));
        let insert = format!(
            "INSERT INTO loop_businesses (id, name, email, phone, city) VALUES ({}, {}, {}, {}, {})",
            ph(1),
            ph(2),
            ph(3),
            ph(4),
            ph(5)
        );
        let update = format!(
            "UPDATE loop_businesses SET name = {}, phone = {}, city = {} WHERE id = {}",
            ph(1),
            ph(2),
            ph(3),
            ph(4)
        );
        for (n, r) in $rows.iter().enumerate() {
            let found: Option<(i64,)> = sqlx::query_as(AssertSqlSafe(select.clone()))
                .bind(r[2].clone())
                .fetch_optional(&mut *tx)
                .await?;
            match found {
                Some((id,)) => {
                    sqlx::query(AssertSqlSafe(update.clone()))
                        .bind(r[1].clone())
                        .bind(r[3].clone())
                        .bind(r[4].clone())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                None => {
                    sqlx::query(AssertSqlSafe(insert.clone()))
                        .bind(n as i64 + 1)
                        .bind(r[1].clone())
                        .bind(r[2].clone())
                        .bind(r[3].clone())
                        .bind(r[4].clone())
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        start.elapsed().as_secs_f64()
    }};
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: upsert_loop URL FILE.csv")?;
    let file = args.next().ok_or("usage: upsert_loop URL FILE.csv")?;
    let mut reader = csv::Reader::from_path(&file)?;
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(String::from).collect()))
        .collect::<Result<_, _>>()?;
    let seconds = if url.starts_with("sqlite:") {
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?.create_if_missing(true);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await?;
        run_loop!(&mut c, rows, |_| "?".to_string())
    } else if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&url).await?;
        run_loop!(&mut c, rows, |n| format!("${n}"))
    } else {
        let mut c = sqlx::MySqlConnection::connect(&url).await?;
        run_loop!(&mut c, rows, |_| "?".to_string())
    };
    println!("{} {seconds:.3}", rows.len());
    Ok(())
}
