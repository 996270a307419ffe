//! All or nothing: real apply processes are killed with SIGKILL at random points, many times,
//! and after each kill the table and the state table must be exactly as before the apply or
//! exactly as after a complete one. Never a mix.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Workspace;

/// A spec for one table named `name`, fed by one CSV, deleting rows whose record left.
pub fn spec(name: &str, csv: &str) -> String {
    format!(
        r#"
version: 1
resource: {name}
target:
  table: {name}
  key: email
  fields:
    name: {{ type: text, required: true }}
    email: {{ type: email }}
sources:
  data: {{ file: {csv}, id: ref, fields: {{ name: name, email: email }} }}
on_missing: delete
max_delete: "100%"
"#
    )
}

/// `rows` records. Version 1 of the data drops every fifth record, renames every third and
/// adds a fifth more: deletes, updates and creates in one apply.
pub fn csv(rows: usize, version: u8) -> String {
    let mut s = String::from("ref,name,email\n");
    let total = if version == 1 { rows + rows / 5 } else { rows };
    for i in 0..total {
        if version == 1 && i % 5 == 0 {
            continue;
        }
        let name = if version == 1 && i % 3 == 0 {
            format!("Renamed {i}")
        } else {
            format!("Name {i}")
        };
        s.push_str(&format!("{i},{name},e{i}@example.com\n"));
    }
    s
}

/// Starts the binary in the workspace without waiting for it.
pub fn spawn(ws: &Workspace, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_reconcile"))
        .args(args)
        .current_dir(ws.dir.path())
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start reconcile")
}

type Rows = Vec<Vec<Option<String>>>;

fn dump(db: &Path) -> (Rows, Rows) {
    (
        crate::common::query(db, "SELECT id, name, email FROM things ORDER BY id"),
        crate::common::query(
            db,
            "SELECT resource, address, row_key, members, hash FROM reconcile_state ORDER BY address",
        ),
    )
}

/// Copies the SQLite database (with any journal beside it) from `from` to `to`.
fn copy_db(from: &Path, to: &Path) {
    for suffix in ["-journal", "-wal", "-shm", "-reconcile-lock"] {
        let mut t = to.as_os_str().to_owned();
        t.push(suffix);
        let _ = std::fs::remove_file(&t);
        let mut f = from.as_os_str().to_owned();
        f.push(suffix);
        if Path::new(&f).exists() {
            std::fs::copy(&f, &t).unwrap();
        }
    }
    std::fs::copy(from, to).unwrap();
}

/// A small xorshift generator: the kill points differ between runs, and the seed is printed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn killed_applies_leave_the_database_as_before_or_fully_applied() {
    const ROWS: usize = 3_000;
    const KILLS: usize = 30;
    let ws = Workspace::empty();
    ws.write("specs/things.yaml", &spec("things", "things.csv"));
    ws.write("specs/things.csv", &csv(ROWS, 0));
    ws.run(&["apply", "--auto-approve"]).ok();
    let db = ws.db_path();
    let before_db = ws.path("before.db");
    copy_db(&db, &before_db);
    let before = dump(&before_db);

    // The complete apply, timed to spread the kill points over its whole run.
    ws.write("specs/things.csv", &csv(ROWS, 1));
    let started = Instant::now();
    ws.run(&["apply", "--auto-approve"]).ok();
    let full = started.elapsed();
    let after = dump(&db);
    assert_ne!(before, after);
    assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));

    let seed = std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let mut rng = Rng(seed);
    let (mut as_before, mut as_after) = (0, 0);
    for i in 0..KILLS {
        copy_db(&before_db, &db);
        let delay = Duration::from_micros(rng.next() % (full.as_micros() as u64 * 11 / 10 + 1));
        let mut child = spawn(&ws, &["apply", "--auto-approve"]);
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL: no destructor, no rollback by the process itself.
        child.wait().unwrap();
        let now = dump(&db);
        if now == before {
            as_before += 1;
        } else if now == after {
            as_after += 1;
        } else {
            panic!(
                "kill {i} after {delay:?} (seed {seed:#x}) left a partial apply: {} rows, {} state entries",
                now.0.len(),
                now.1.len()
            );
        }
    }
    eprintln!(
        "{KILLS} kills over a {full:?} apply (seed {seed:#x}): {as_before} left it as before, \
         {as_after} fully applied"
    );
}

/// A folder of two resources, `regions` and `things` whose `region` refers to a region: the
/// apply creates regions, points things at their new keys, moves things between regions and
/// deletes things and a region, all in one transaction.
fn write_folder(ws: &Workspace, things: usize, version: u8) {
    ws.write(
        "specs/regions.yaml",
        "version: 1\nresource: regions\ntarget:\n  table: regions\n  key: name\n  fields:\n    \
         name: { type: text, required: true }\nsources:\n  data: { file: regions.csv, id: name, \
         fields: { name: name } }\non_missing: delete\nmax_delete: \"100%\"\n",
    );
    ws.write(
        "specs/things.yaml",
        "version: 1\nresource: things\ntarget:\n  table: things\n  key: email\n  fields:\n    \
         name: { type: text, required: true }\n    email: { type: email }\n    region: { type: \
         integer, ref: regions, by: name, column: region_id }\nsources:\n  data: { file: \
         things.csv, id: ref, fields: { name: name, email: email, region: region } }\n\
         on_missing: delete\nmax_delete: \"100%\"\n",
    );
    let regions = if version == 0 { 20 } else { 25 };
    let mut csv = String::from("name\n");
    // Version 1 drops region 0 and adds five.
    for r in usize::from(version == 1)..regions {
        csv.push_str(&format!("Region {r}\n"));
    }
    ws.write("specs/regions.csv", &csv);
    let mut csv = String::from("ref,name,email,region\n");
    for line in self::csv(things, version).lines().skip(1) {
        let i: usize = line.split(',').next().unwrap().parse().unwrap();
        let region = if version == 0 { i % 20 } else { 1 + i % 24 };
        csv.push_str(&format!("{line},Region {region}\n"));
    }
    ws.write("specs/things.csv", &csv);
}

fn dump_server(ws: &Workspace) -> (Rows, Rows, Rows) {
    (
        ws.query("SELECT id, name FROM regions ORDER BY id"),
        ws.query("SELECT id, name, email, region_id FROM things ORDER BY id"),
        ws.query(
            "SELECT resource, address, row_key, members, hash FROM reconcile_state \
             ORDER BY resource, address",
        ),
    )
}

/// A folder applied against `backend`, at version 0, ready for the version 1 apply.
fn folder_before(backend: crate::common::Backend, things: usize) -> Option<Workspace> {
    let ws = Workspace::seed_on(backend)?;
    write_folder(&ws, things, 0);
    let url = ws.url();
    ws.run(&["apply", "--auto-approve", "--database", &url])
        .ok();
    write_folder(&ws, things, 1);
    Some(ws)
}

/// The kill test on a server: a folder apply with references, killed at random points, leaves
/// every table and the state exactly as before or as after. Each kill starts from a fresh
/// database, so the keys the server hands out are the same in every run.
fn killed_folder_applies_on(backend: crate::common::Backend) {
    const THINGS: usize = 1_000;
    const KILLS: usize = 10;
    let Some(ws) = folder_before(backend, THINGS) else {
        return;
    };
    let before = dump_server(&ws);
    let url = ws.url();
    let started = Instant::now();
    ws.run(&["apply", "--auto-approve", "--database", &url])
        .ok();
    let full = started.elapsed();
    let after = dump_server(&ws);
    assert_ne!(before, after);
    assert!(
        after.1.iter().all(|row| row[3].is_some()),
        "every thing has its region"
    );
    let again = ws.run(&["plan", "--database", &url]).ok();
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);

    let seed = std::process::id() as u64 ^ 0x2545_f491_4f6c_dd1d;
    let mut rng = Rng(seed);
    let (mut as_before, mut as_after) = (0, 0);
    for i in 0..KILLS {
        let ws = folder_before(backend, THINGS).unwrap();
        assert_eq!(dump_server(&ws), before, "a fresh database starts the same");
        let url = ws.url();
        // Reading and planning come first; the kill points lean towards the writes.
        let span = full.as_micros() as u64;
        let delay = Duration::from_micros(span * 3 / 10 + rng.next() % (span * 8 / 10 + 1));
        let mut child = spawn(&ws, &["apply", "--auto-approve", "--database", &url]);
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        // The server notices the dropped connection and rolls its transaction back; until it
        // has, the tables are locked, and reading waits for it.
        let now = dump_server(&ws);
        if now == before {
            as_before += 1;
        } else if now == after {
            as_after += 1;
        } else {
            panic!(
                "{backend:?}: kill {i} after {delay:?} (seed {seed:#x}) left a partial apply: \
                 {} regions, {} things, {} state entries",
                now.0.len(),
                now.1.len(),
                now.2.len()
            );
        }
    }
    eprintln!(
        "{backend:?}: {KILLS} kills over a {full:?} folder apply (seed {seed:#x}): {as_before} \
         left it as before, {as_after} fully applied"
    );
}

#[test]
#[cfg_attr(
    not(reconcile_test_postgres),
    ignore = "set RECONCILE_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
fn killed_folder_applies_with_references_on_postgres() {
    killed_folder_applies_on(crate::common::Backend::Postgres);
}

#[test]
#[cfg_attr(
    not(reconcile_test_mysql),
    ignore = "set RECONCILE_TEST_MYSQL_URL to run the MySQL/MariaDB tests"
)]
fn killed_folder_applies_with_references_on_mariadb() {
    killed_folder_applies_on(crate::common::Backend::MySql);
}
