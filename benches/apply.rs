//! How fast `apply` writes: 100,000 creates (the rows and their state entries) in one
//! transaction, on SQLite and, when their URLs are set, PostgreSQL and MySQL/MariaDB.
//! Only the apply is timed; the plan is built directly. Figures are printed, never asserted.
//!
//! ```sh
//! RECONCILE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! RECONCILE_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test \
//! cargo bench --bench apply            # ROWS=10000 for a quicker run
//! ```

use std::time::Instant;

use reconcile::db::{Database, read, write};
use reconcile::merge::SourceRef;
use reconcile::plan::{Action, Change, Plan, Reason};
use reconcile::spec::compiled::Compiled;
use reconcile::value::Value;

const SPEC: &str = r#"
version: 1
resource: bench
target:
  table: bench_customers
  fields:
    name: { type: text, required: true }
    email: { type: email }
    phone: { type: phone, region: ZA }
    credit: { type: decimal }
    since: { type: date }
sources:
  only:
    inline: [{ name: x }]
    fields: { name: name }
"#;

fn plan(spec: &Compiled, rows: usize, fingerprint: String) -> Plan {
    let changes = (0..rows)
        .map(|i| Change {
            address: format!("customer-{i}"),
            action: Action::Create,
            reason: Reason::New,
            row_key: None,
            before: None,
            after: Some(vec![
                Value::Text(format!("Customer {i}")),
                Value::Text(format!("c{i}@example.com")),
                Value::Text(format!("+2782{i:07}")),
                Value::Text(format!("{}.{:02}", i % 10_000, i % 100)),
                Value::Text(format!("2024-{:02}-{:02}", i % 12 + 1, i % 28 + 1)),
            ]),
            changed: (0..5).collect(),
            provenance: vec![None; 5],
            members: vec![SourceRef {
                source: "only".into(),
                id: i.to_string(),
            }],
            write_state: true,
        })
        .collect();
    Plan {
        resource: spec.resource.clone(),
        table: spec.table.clone(),
        fields: spec
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.column.clone()))
            .collect(),
        create_table: true,
        changes,
        missing: Vec::new(),
        excluded: Vec::new(),
        review: Vec::new(),
        fingerprint,
        rows_read: 0,
        sensitive: vec![false; spec.fields.len()],
        soft_delete: None,
        read: Vec::new(),
        inputs: None,
        shortcut: None,
    }
}

/// Runs `sql` (CREATE/DROP DATABASE) on a server through the tool's own connection.
async fn admin(url: &str, sql: &str) {
    let db = Database::open_read(url).await.expect("connect");
    match db.pool.as_ref().expect("a server pool") {
        reconcile::db::Pool::Postgres(p) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .expect(sql);
        }
        reconcile::db::Pool::MySql(p) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .expect(sql);
        }
        reconcile::db::Pool::Sqlite(_) => unreachable!(),
    }
    db.close().await;
}

fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let authority = rest.split('/').next().unwrap();
    format!("{scheme}://{authority}/{name}")
}

fn main() {
    let rows: usize = std::env::var("ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("bench.yaml");
    std::fs::write(&spec_path, SPEC).unwrap();
    let spec = reconcile::spec::load::load(&spec_path).expect("bench spec");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let mut targets: Vec<(&str, Option<String>)> = vec![("SQLite", None)];
    for (name, var) in [
        ("PostgreSQL", "RECONCILE_TEST_POSTGRES_URL"),
        ("MySQL/MariaDB", "RECONCILE_TEST_MYSQL_URL"),
    ] {
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => targets.push((name, Some(url))),
            _ => println!("{name}: skipped ({var} is not set)"),
        }
    }
    println!("apply of {rows} creates in one transaction (best of 3):");
    for (name, server) in targets {
        let mut times = Vec::new();
        for run in 0..3 {
            let (url, cleanup) = match &server {
                None => {
                    let file = dir.path().join(format!("bench{run}.db"));
                    (format!("sqlite://{}", file.display()), None)
                }
                Some(admin_url) => {
                    let db = format!("reconcile_bench_{}_{run}", std::process::id());
                    rt.block_on(admin(admin_url, &format!("CREATE DATABASE {db}")));
                    (with_database(admin_url, &db), Some((admin_url.clone(), db)))
                }
            };
            let elapsed = rt.block_on(async {
                let db = Database::open_write(&url).await.expect("open");
                let current = read::read(&db, &spec).await.expect("read");
                let plan = plan(&spec, rows, current.fingerprint);
                let start = Instant::now();
                let applied = write::apply(&db, &spec, &plan).await.expect("apply");
                let elapsed = start.elapsed();
                assert_eq!(applied.created, rows);
                db.close().await;
                elapsed
            });
            if let Some((admin_url, db)) = cleanup {
                let drop = match name {
                    "PostgreSQL" => format!("DROP DATABASE {db} WITH (FORCE)"),
                    _ => format!("DROP DATABASE {db}"),
                };
                rt.block_on(admin(&admin_url, &drop));
            }
            times.push(elapsed.as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {name:<14} best {:.3} s ({:>9.0} rows/s), median {:.3} s",
            times[0],
            rows as f64 / times[0],
            times[1]
        );
    }
}
