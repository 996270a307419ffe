//! How fast `apply` writes, on SQLite and, when their URLs are set, PostgreSQL and
//! MySQL/MariaDB: `ROWS` creates (the rows and their state entries, default 100,000) in one
//! transaction, then `UPDATES` updates (default 10,000) scattered over that table, changing
//! three different sets of fields. Only the applies are timed (the in-transaction re-read
//! included); the plans are built directly. Figures are printed, never asserted.
//!
//! ```sh
//! RECONCILE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! RECONCILE_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test \
//! cargo bench --bench apply            # ROWS=10000 for a quicker run, ROWS=1000000 at scale
//! ```
//!
//! `BACKENDS=postgres` (or any comma-separated choice of `sqlite`, `postgres`, `mysql`) runs
//! only those. The updates' apply reads back only the rows it updates, as a plan made by
//! `reconcile plan` has it do; `FULL_CHECK=1` has it check the whole table instead.

use std::time::Instant;

use reconcile::db::lock::LockRequest;
use reconcile::db::{Database, WriteSet, read};
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
            names: Vec::new(),
            conflicts: Default::default(),
            write_state: true,
            replaces: false,
        })
        .collect();
    Plan {
        changes,
        fingerprint,
        create_table: true,
        ..Plan::of_spec(spec)
    }
}

/// A plan of `n` updates spread evenly over the rows of `current`, each changing one of three
/// sets of fields.
fn update_plan(spec: &Compiled, current: &reconcile::state::CurrentState, n: usize) -> Plan {
    let mut p = plan(spec, 0, current.fingerprint.clone());
    p.create_table = false;
    p.rows_read = current.rows.len();
    let by_key: std::collections::HashMap<&str, &str> = current
        .state
        .iter()
        .map(|s| (s.row_key.as_str(), s.address.as_str()))
        .collect();
    let step = (current.rows.len() / n.max(1)).max(1);
    for (j, row) in current.rows.iter().step_by(step).take(n).enumerate() {
        let mut after = row.values.clone();
        let changed: Vec<usize> = match j % 3 {
            0 => vec![1],
            1 => vec![2, 3],
            _ => vec![0, 4],
        };
        for &f in &changed {
            after[f] = Value::Text(match f {
                0 => format!("Renamed {j}"),
                1 => format!("new{j}@example.org"),
                2 => format!("+2783{j:07}"),
                3 => format!("{}.50", j % 1000),
                _ => "2025-06-30".to_string(),
            });
        }
        let key = reconcile::state::key_text(&row.key);
        let address = by_key[key.as_str()].to_string();
        let id = address.trim_start_matches("customer-").to_string();
        p.changes.push(Change {
            address,
            action: Action::Update,
            reason: Reason::SourceChanged,
            row_key: Some(row.key.clone()),
            before: Some(row.values.clone()),
            after: Some(after),
            changed,
            provenance: vec![None; 5],
            members: vec![SourceRef {
                source: "only".into(),
                id,
            }],
            names: Vec::new(),
            conflicts: Default::default(),
            write_state: true,
            replaces: false,
        });
    }
    // In address order, as a plan lists its changes: "customer-10" before "customer-2", so
    // the keys are not in order.
    p.changes.sort_by(|a, b| a.address.cmp(&b.address));
    // As `plan` keeps them: the apply then reads back only the rows it updates. With
    // `FULL_CHECK=1`, it checks the whole table instead, for comparison.
    if std::env::var_os("FULL_CHECK").is_none() {
        p.decided = reconcile::plan::decided::of(spec, &p, current);
        assert!(p.decided.is_some());
    }
    p
}

/// Applies one plan as `reconcile apply` does: its write set worked out first (on every
/// core, outside the runtime), then written.
fn apply(
    rt: &tokio::runtime::Runtime,
    db: &Database,
    url: &str,
    spec: &Compiled,
    plan: &Plan,
) -> reconcile::db::Applied {
    let set = WriteSet::new(spec, plan);
    let lock = LockRequest::new(
        url,
        &spec.table,
        std::time::Duration::from_secs(10),
        "apply",
    );
    rt.block_on(reconcile::db::apply(db, &[set], &[lock]))
        .expect("apply")
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
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(default)
    };
    let rows = var("ROWS", 100_000);
    let updates = var("UPDATES", 10_000).min(rows);
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("bench.yaml");
    std::fs::write(&spec_path, SPEC).unwrap();
    let spec = reconcile::spec::load::load(&spec_path).expect("bench spec");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // BACKENDS=sqlite,postgres,mysql (the default) chooses which to run.
    let chosen = std::env::var("BACKENDS").unwrap_or_else(|_| "sqlite,postgres,mysql".into());
    let chosen = |name: &str| {
        chosen
            .split(',')
            .any(|b| b.trim().eq_ignore_ascii_case(name))
    };
    let mut targets: Vec<(&str, Option<String>)> = Vec::new();
    if chosen("sqlite") {
        targets.push(("SQLite", None));
    }
    for (name, key, var) in [
        ("PostgreSQL", "postgres", "RECONCILE_TEST_POSTGRES_URL"),
        ("MySQL/MariaDB", "mysql", "RECONCILE_TEST_MYSQL_URL"),
    ] {
        if !chosen(key) {
            continue;
        }
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => targets.push((name, Some(url))),
            _ => println!("{name}: skipped ({var} is not set)"),
        }
    }
    println!(
        "apply of {rows} creates, then of {updates} updates in that table, each in one \
         transaction (best of 3):"
    );
    for (name, server) in targets {
        let mut times = Vec::new();
        let mut update_times = Vec::new();
        let mut read_times = Vec::new();
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
            let db = rt.block_on(Database::open_write(&url)).expect("open");
            let current = rt.block_on(read::read(&db, &spec)).expect("read");
            let plan = plan(&spec, rows, current.fingerprint);
            let start = Instant::now();
            let applied = apply(&rt, &db, &url, &spec, &plan);
            let elapsed = start.elapsed();
            assert_eq!(applied.created, rows);
            drop(plan);
            let start = Instant::now();
            let current = rt.block_on(read::read(&db, &spec)).expect("read");
            let read_time = start.elapsed();
            let plan = update_plan(&spec, &current, updates);
            drop(current);
            let start = Instant::now();
            let applied = apply(&rt, &db, &url, &spec, &plan);
            let update_time = start.elapsed();
            assert_eq!(applied.updated, updates);
            rt.block_on(db.close());
            if let Some((admin_url, db)) = cleanup {
                let drop = match name {
                    "PostgreSQL" => format!("DROP DATABASE {db} WITH (FORCE)"),
                    _ => format!("DROP DATABASE {db}"),
                };
                rt.block_on(admin(&admin_url, &drop));
            }
            times.push(elapsed.as_secs_f64());
            read_times.push(read_time.as_secs_f64());
            update_times.push(update_time.as_secs_f64());
        }
        for t in [&mut times, &mut read_times, &mut update_times] {
            t.sort_by(f64::total_cmp);
        }
        println!(
            "  {name:<14} creates: best {:.3} s ({:>9.0} rows/s), median {:.3} s",
            times[0],
            rows as f64 / times[0],
            times[1]
        );
        println!(
            "  {name:<14} updates: best {:.3} s, median {:.3} s (a full read of the table: \
             best {:.3} s)",
            update_times[0], update_times[1], read_times[0]
        );
    }
}
