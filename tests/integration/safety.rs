//! Data safety: saved plans and stale-plan refusal, locks, drift and `ignore_changes`,
//! guarded deletes, and masked sensitive values.

use std::time::Duration;

use crate::common::Workspace;

const PRODUCTION: &str = "examples/customers/production_seeding.json";

/// The seed, applied once.
fn applied() -> Workspace {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws
}

/// Removes the production records with these primary keys from the source.
fn drop_production(ws: &Workspace, pks: &[i64]) {
    let mut doc: serde_json::Value = serde_json::from_str(&ws.read(PRODUCTION)).unwrap();
    doc.as_array_mut()
        .unwrap()
        .retain(|r| !pks.contains(&r["pk"].as_i64().unwrap()));
    ws.write(PRODUCTION, &serde_json::to_string_pretty(&doc).unwrap());
}

/// Every row of the table and of the state table, as text.
type Rows = Vec<Vec<Option<String>>>;

fn dump(ws: &Workspace) -> (Rows, Rows) {
    (
        ws.query("SELECT * FROM customers ORDER BY id"),
        ws.query(
            "SELECT resource, address, row_key, members, hash FROM reconcile_state ORDER BY address",
        ),
    )
}

fn count(ws: &Workspace, sql: &str) -> usize {
    ws.query(sql)[0][0].as_deref().unwrap().parse().unwrap()
}

// ---- saved plans -------------------------------------------------------------------------

#[test]
fn a_saved_plan_is_applied_as_is_without_a_prompt() {
    let ws = Workspace::seed();
    let run = ws.run(&["plan", "--out", "plan.json"]).ok();
    assert!(
        run.stdout.contains("reconcile apply plan.json"),
        "{}",
        run.stdout
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(ws.path("plan.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the plan holds values: owner only");
    }
    let saved: serde_json::Value =
        serde_json::from_str(ws.read("plan.json").lines().next().unwrap()).unwrap();
    assert_eq!(saved["format_version"], "6");
    assert_eq!(saved["resources"][0]["summary"]["create"], 17);
    assert_eq!(
        saved["resources"][0]["plan"]["changes"]
            .as_array()
            .unwrap()
            .len(),
        17
    );

    // No terminal and no --auto-approve: the saved plan is the approval.
    let run = ws.run(&["apply", "plan.json"]).ok();
    assert!(run.stdout.contains("17 added"), "{}", run.stdout);
    assert_eq!(count(&ws, "SELECT COUNT(*) FROM customers"), 17);
    assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
    // Applying it twice is refused: the rows it read are gone.
    let again = ws.run(&["apply", "plan.json"]).fails();
    assert!(
        again.stderr.contains("the plan is stale"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("table customers was created"),
        "{}",
        again.stderr
    );
}

/// A saved plan rests on the rows it writes: one of them changed since is named, with the
/// field, and the plan is refused; a row it leaves alone may change meanwhile, and the apply
/// goes ahead without touching it.
#[test]
fn a_stale_saved_plan_names_the_rows_that_changed() {
    let ws = applied();
    ws.edit(PRODUCTION, "suncity@maltos.co.za", "orders@maltos.co.za");
    ws.run(&["plan", "--out", "plan.json"]).ok();
    ws.execute("UPDATE customers SET phone = '+27 21 555 0000' WHERE name = 'Maltos Sun City'");
    let before = dump(&ws);
    let run = ws.run(&["apply", "plan.json"]).fails();
    assert!(
        run.stderr
            .contains(r#"1 row changed since the plan: customers["maltos-sun-city"] phone"#),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("run `reconcile plan` again"),
        "{}",
        run.stderr
    );
    assert_eq!(before, dump(&ws), "a refused plan writes nothing");

    // A row the plan does not write changes: the plan still holds.
    ws.run(&["plan", "--out", "plan.json"]).ok();
    ws.execute(
        "UPDATE customers SET email = 'someone@else.example' WHERE name = 'Luma Bar and Lounge'",
    );
    ws.run(&["apply", "plan.json"]).ok();
    let email = |name: &str| {
        ws.query(&format!(
            "SELECT email FROM customers WHERE name = '{name}'"
        ))[0][0]
            .clone()
    };
    assert_eq!(
        email("Maltos Sun City").as_deref(),
        Some("orders@maltos.co.za")
    );
    assert_eq!(
        email("Luma Bar and Lounge").as_deref(),
        Some("someone@else.example"),
        "the row the plan did not write is left as it was"
    );
    let next = ws.run(&["plan"]).ok();
    assert!(
        next.stdout.contains("1 to change"),
        "the next plan sees the drift: {}",
        next.stdout
    );
}

#[test]
fn a_saved_plan_is_refused_when_a_source_or_the_spec_changed() {
    let ws = applied();
    ws.edit(PRODUCTION, "suncity@maltos.co.za", "orders@maltos.co.za");
    ws.run(&["plan", "--out", "plan.json"]).ok();
    ws.edit(PRODUCTION, "orders@maltos.co.za", "sales@maltos.co.za");
    let before = dump(&ws);
    let run = ws.run(&["apply", "plan.json"]).fails();
    assert!(
        run.stderr.contains("the saved plan is stale"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("source `production`"), "{}", run.stderr);
    assert_eq!(before, dump(&ws));

    ws.edit(PRODUCTION, "sales@maltos.co.za", "orders@maltos.co.za");
    ws.edit("specs/customers.yaml", "review: 0.5", "review: 0.6");
    let run = ws.run(&["apply", "plan.json"]).fails();
    assert!(run.stderr.contains("the spec"), "{}", run.stderr);
    ws.edit("specs/customers.yaml", "review: 0.6", "review: 0.5");
    ws.run(&["apply", "plan.json"]).ok();
    assert_eq!(
        ws.query("SELECT email FROM customers WHERE name = 'Maltos Sun City'")[0][0].as_deref(),
        Some("orders@maltos.co.za")
    );
}

#[test]
fn a_saved_plan_is_refused_against_another_database() {
    let ws = Workspace::seed();
    ws.run(&["plan", "--out", "plan.json"]).ok();
    let run = ws
        .run(&["apply", "plan.json", "--database", "sqlite://other.db"])
        .fails();
    assert!(
        run.stderr.contains("this plan was made against sqlite:"),
        "{}",
        run.stderr
    );
    assert!(!ws.path("other.db").exists() || count_other(&ws) == 0);
}

fn count_other(ws: &Workspace) -> usize {
    crate::common::query(&ws.path("other.db"), "SELECT COUNT(*) FROM sqlite_master")[0][0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_file_that_is_not_a_saved_plan_is_refused() {
    let ws = Workspace::seed();
    let run = ws.run(&["apply", "specs/customers.yaml"]).fails();
    assert!(
        run.stderr.contains("is not a usable saved plan"),
        "{}",
        run.stderr
    );
    assert!(!ws.db_path().exists());
}

// ---- locks -------------------------------------------------------------------------------

/// Holds SQLite's write lock on the workspace database from outside reconcile, as another
/// writer would, until the returned sender is dropped or sent to.
pub(crate) fn hold_sqlite_lock(
    ws: &Workspace,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let path = ws.db_path();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use sqlx::Connection as _;
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
            let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
            let lock = conn.begin_with("BEGIN IMMEDIATE").await.unwrap();
            held_tx.send(()).unwrap();
            let _ = release_rx.recv();
            lock.rollback().await.unwrap();
        });
    });
    held_rx.recv().unwrap();
    (release_tx, handle)
}

#[test]
fn apply_and_plan_lock_fail_at_once_while_another_writer_holds_the_lock() {
    let ws = applied();
    ws.edit(PRODUCTION, "suncity@maltos.co.za", "orders@maltos.co.za");
    let before = dump(&ws);
    let (release, holder) = hold_sqlite_lock(&ws);
    let run = ws.run(&["apply", "--auto-approve"]).fails();
    assert!(
        run.stderr.contains("table customers is locked"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--lock-timeout"), "{}", run.stderr);
    let run = ws.run(&["plan", "--lock"]).fails();
    assert!(run.stderr.contains("is locked"), "{}", run.stderr);
    // A plan without --lock reads what is committed.
    ws.run(&["plan"]).ok();
    drop(release);
    holder.join().unwrap();
    assert_eq!(before, dump(&ws));
}

#[test]
fn lock_timeout_waits_for_the_holder() {
    let ws = applied();
    ws.edit(PRODUCTION, "suncity@maltos.co.za", "orders@maltos.co.za");
    let (release, holder) = hold_sqlite_lock(&ws);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        drop(release);
    });
    ws.run(&["apply", "--auto-approve", "--lock-timeout", "60s"])
        .ok();
    releaser.join().unwrap();
    holder.join().unwrap();
    assert!(
        ws.run(&["plan", "--lock"])
            .ok()
            .stdout
            .contains("No changes.")
    );
}

#[test]
fn contention_names_the_reconcile_that_holds_the_lock() {
    // A big apply holds the lock; a small apply to another table of the same SQLite file
    // must be refused, naming the first one's process.
    let ws = Workspace::empty();
    let mut rows = 20_000;
    for _ in 0..4 {
        let _ = std::fs::remove_file(ws.path("specs/reconcile.db"));
        ws.write("specs/big.yaml", &crate::crash::spec("big", "big.csv"));
        ws.write("specs/big.csv", &crate::crash::csv(rows, 0));
        ws.write(
            "specs/small.yaml",
            &crate::crash::spec("small", "small.csv"),
        );
        ws.write("specs/small.csv", &crate::crash::csv(3, 0));
        let mut big =
            crate::crash::spawn(&ws, &["apply", "-f", "specs/big.yaml", "--auto-approve"]);
        let note = ws.path("specs/reconcile.db-reconcile-lock");
        let mut held = false;
        while big.try_wait().unwrap().is_none() {
            if note.exists() {
                held = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if !held {
            big.wait().unwrap();
            rows *= 2;
            continue;
        }
        let small = ws.run(&["apply", "-f", "specs/small.yaml", "--auto-approve"]);
        let status = big.wait().unwrap();
        assert!(status.success());
        if small.code == 0 {
            // The big apply finished first; try again with more rows.
            rows *= 2;
            continue;
        }
        assert!(
            small.stderr.contains("is locked, held by reconcile apply"),
            "{}",
            small.stderr
        );
        assert!(
            small
                .stderr
                .contains(&format!("reconcile apply (pid {}", big.id())),
            "{}",
            small.stderr
        );
        assert!(small.stderr.contains(" since 20"), "{}", small.stderr);
        assert!(
            !note.exists(),
            "the holder note is removed when the lock is released"
        );
        return;
    }
    panic!("the big apply never held the lock long enough to be observed");
}

// ---- drift and ignore_changes ------------------------------------------------------------

#[test]
fn drift_is_reported_with_its_fields_then_brought_back() {
    let ws = applied();
    ws.execute("UPDATE customers SET contact_person = 'Someone' WHERE name = 'Revue Bar'");
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout.contains("(changed outside reconcile: contact)"),
        "{}",
        run.stdout
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    let c = &json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update")
        .unwrap()
        .clone();
    assert_eq!(c["reason"], "changed_outside");
    assert_eq!(c["changed"], serde_json::json!(["contact"]));
    ws.run(&["apply", "--auto-approve"]).ok();
    assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
}

#[test]
fn ignore_changes_leaves_a_field_alone_after_create() {
    let ws = Workspace::seed();
    ws.edit(
        "specs/customers.yaml",
        "contact: { type: text, column: contact_person }",
        "contact: { type: text, column: contact_person, ignore_changes: true }",
    );
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.execute("UPDATE customers SET contact_person = 'Someone' WHERE name = 'Revue Bar'");
    ws.edit(PRODUCTION, "\"Leon\"", "\"Leonard\"");
    let run = ws.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    ws.run(&["apply", "--auto-approve"]).ok();
    let contact = ws.query("SELECT contact_person FROM customers WHERE name IN ('Revue Bar', 'Leopard Lodge') ORDER BY name");
    assert_eq!(contact[0][0].as_deref(), Some("Leon"));
    assert_eq!(contact[1][0].as_deref(), Some("Someone"));
}

// ---- deletes -----------------------------------------------------------------------------

#[test]
fn prune_deletes_only_managed_rows_whose_record_left() {
    let ws = applied();
    ws.execute("INSERT INTO customers (name, email) VALUES ('Hand Made', 'hand@made.example')");
    drop_production(&ws, &[2]);
    let run = ws.run(&["plan"]).ok();
    assert!(run.stdout.contains(r#"Kept (1)"#), "{}", run.stdout);
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);

    let json = ws.run(&["plan", "--prune", "--json"]).ok().json();
    assert_eq!(json["summary"]["delete"], 1);
    let del = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "delete")
        .unwrap();
    assert_eq!(del["address"], r#"customers["pecanwood-golf-estate"]"#);
    assert_eq!(del["before"]["name"], "Pecanwood Golf Estate");
    assert_eq!(del["after"], serde_json::Value::Null);
    assert_eq!(del["reason"], "missing");

    let run = ws.run(&["apply", "--prune", "--auto-approve"]).ok();
    assert!(run.stdout.contains("1 destroyed"), "{}", run.stdout);
    assert_eq!(
        count(
            &ws,
            "SELECT COUNT(*) FROM customers WHERE name = 'Pecanwood Golf Estate'"
        ),
        0
    );
    assert_eq!(
        count(
            &ws,
            "SELECT COUNT(*) FROM customers WHERE name = 'Hand Made'"
        ),
        1,
        "unmanaged rows are never deleted"
    );
    assert_eq!(
        count(
            &ws,
            "SELECT COUNT(*) FROM reconcile_state WHERE address = 'pecanwood-golf-estate'"
        ),
        0
    );
    assert!(
        ws.run(&["plan", "--prune"])
            .ok()
            .stdout
            .contains("No changes.")
    );
}

#[test]
fn owns_table_deletes_unmanaged_rows_too() {
    let ws = applied();
    ws.execute("INSERT INTO customers (name, email) VALUES ('Hand Made', 'hand@made.example')");
    ws.edit(
        "specs/customers.yaml",
        "  key: email",
        "  owns_table: true\n  key: email",
    );
    ws.edit(
        "specs/customers.yaml",
        "on_missing: keep",
        "on_missing: delete",
    );
    let run = ws.run(&["apply", "--auto-approve"]).ok();
    assert!(run.stdout.contains("1 destroyed"), "{}", run.stdout);
    assert_eq!(count(&ws, "SELECT COUNT(*) FROM customers"), 17);
}

#[test]
fn max_delete_refuses_a_mass_delete_unless_allowed() {
    let ws = applied();
    ws.edit(
        "specs/customers.yaml",
        "on_missing: keep",
        "on_missing: delete",
    );
    drop_production(&ws, &[2, 3, 10]);
    let before = dump(&ws);
    let run = ws.run(&["plan"]).fails();
    assert!(
        run.stderr
            .contains("this plan would delete 3 of the 17 rows `customers` manages"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--allow-mass-delete"), "{}", run.stderr);
    // The plan refused is shown first.
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 0 to change, 3 to destroy."),
        "{}",
        run.stdout
    );
    let run = ws.run(&["apply", "--auto-approve"]).fails();
    assert!(run.stdout.contains("3 to destroy"), "{}", run.stdout);
    assert!(!run.stdout.contains("Apply complete"), "{}", run.stdout);
    assert_eq!(before, dump(&ws));
    // Nor is it saved to be applied later.
    ws.run(&["plan", "--out", "refused.json"]).fails();
    assert!(!ws.path("refused.json").exists());

    ws.edit(
        "specs/customers.yaml",
        "on_missing: delete",
        "on_missing: delete\nmax_delete: 3",
    );
    ws.run(&["plan"]).ok();
    ws.edit(
        "specs/customers.yaml",
        "max_delete: 3",
        "max_delete: \"10%\"",
    );
    ws.run(&["plan"]).fails();
    ws.run(&["apply", "--auto-approve", "--allow-mass-delete"])
        .ok();
    assert_eq!(count(&ws, "SELECT COUNT(*) FROM customers"), 14);
}

/// A spec of `n` firms read from a CSV file, deleted when they leave it.
fn firms(n: usize) -> Workspace {
    let ws = Workspace::empty();
    let rows: Vec<String> = (1..=n).map(|i| format!("{i},Firm {i}")).collect();
    ws.write(
        "specs/firms.csv",
        &format!("id,name\n{}\n", rows.join("\n")),
    );
    ws.write(
        "specs/firms.yaml",
        "version: 1\nresource: firms\ntarget:\n  table: firms\n  fields:\n    \
         name: { type: text, required: true }\n\
         sources:\n  list:\n    file: firms.csv\n    id: id\n    fields: { name: name }\n\
         on_missing: delete\n",
    );
    ws
}

#[test]
fn max_delete_lets_a_small_table_lose_two_rows_but_never_all_of_them() {
    let ws = firms(15);
    ws.run(&["apply", "--auto-approve"]).ok();
    // 2 of 15 managed rows: 13%, over the default 10%, yet no mass delete.
    let rows: Vec<String> = (3..=15).map(|i| format!("{i},Firm {i}")).collect();
    ws.write(
        "specs/firms.csv",
        &format!("id,name\n{}\n", rows.join("\n")),
    );
    let run = ws.run(&["apply", "--auto-approve"]).ok();
    assert!(run.stdout.contains("2 destroyed"), "{}", run.stdout);

    // Every record excluded: every managed row would go. The plan is shown, then refused.
    ws.edit(
        "specs/firms.yaml",
        "on_missing: delete\n",
        "on_missing: delete\nmax_delete: 100\nexclude:\n  - name: closing down\n    when: { field: name, matches: \"^Firm\" }\n",
    );
    let before = dump_firms(&ws);
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        let run = ws.run(args).fails();
        assert!(
            run.stdout
                .contains("Plan: 0 to add, 0 to change, 13 to destroy. (13 excluded)"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(r#"- firms["firm-3"]"#),
            "{}",
            run.stdout
        );
        assert!(
            run.stderr
                .contains("this plan would delete every row `firms` manages (13 of 13)"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("--allow-mass-delete"), "{}", run.stderr);
    }
    assert_eq!(before, dump_firms(&ws));
    // "100%" says every row may go.
    ws.edit(
        "specs/firms.yaml",
        "max_delete: 100",
        "max_delete: \"100%\"",
    );
    ws.run(&["plan"]).ok();
    ws.edit(
        "specs/firms.yaml",
        "max_delete: \"100%\"",
        "max_delete: 100",
    );
    let run = ws
        .run(&["apply", "--auto-approve", "--allow-mass-delete"])
        .ok();
    assert!(run.stdout.contains("13 destroyed"), "{}", run.stdout);
}

fn dump_firms(ws: &Workspace) -> Vec<Vec<Option<String>>> {
    ws.query("SELECT id, name FROM firms ORDER BY id")
}

#[test]
fn prevent_destroy_refuses_any_delete() {
    let ws = applied();
    ws.edit(
        "specs/customers.yaml",
        "on_missing: keep",
        "on_missing: keep\nprevent_destroy: true",
    );
    drop_production(&ws, &[2]);
    ws.run(&["plan"]).ok();
    let run = ws.run(&["plan", "--prune"]).fails();
    assert!(run.stderr.contains("prevent_destroy"), "{}", run.stderr);
    assert!(
        run.stderr.contains(r#"customers["pecanwood-golf-estate"]"#),
        "{}",
        run.stderr
    );
}

#[test]
fn soft_delete_sets_the_column_and_releases_the_row() {
    let ws = Workspace::seed();
    ws.edit(
        "specs/customers.yaml",
        "on_missing: keep",
        "on_missing: soft_delete\nsoft_delete: { column: archived, value: true }",
    );
    ws.run(&["apply", "--auto-approve"]).ok();
    drop_production(&ws, &[2]);
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout.contains("will be soft-deleted"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("archived will be set to true"),
        "{}",
        run.stdout
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    let del = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "delete")
        .unwrap();
    assert_eq!(
        del["soft_delete"],
        serde_json::json!({"column": "archived", "value": true})
    );
    ws.run(&["apply", "--auto-approve"]).ok();
    let rows = ws.query("SELECT archived FROM customers WHERE name = 'Pecanwood Golf Estate'");
    assert_eq!(rows[0][0].as_deref(), Some("1"));
    assert_eq!(
        count(&ws, "SELECT COUNT(*) FROM customers WHERE archived IS NULL"),
        16
    );
    assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
}

#[test]
fn a_source_that_suddenly_yields_nothing_is_an_error() {
    let ws = applied();
    ws.write(
        "examples/customers/import_customers.csv",
        "Name,Contact,Email,Phone,Type\n",
    );
    let before = dump(&ws);
    let run = ws.run(&["apply", "--prune", "--auto-approve"]).fails();
    assert!(run.stderr.contains("source `import`"), "{}", run.stderr);
    assert!(run.stderr.contains("yielded no records"), "{}", run.stderr);
    assert_eq!(before, dump(&ws));
}

// ---- sensitive values --------------------------------------------------------------------

#[test]
fn sensitive_fields_are_masked_in_text_and_json_plans() {
    let ws = Workspace::seed();
    ws.edit(
        "specs/customers.yaml",
        "phone:   { type: phone, region: ZA }",
        "phone:   { type: phone, region: ZA, sensitive: true }",
    );
    let text = ws.run(&["plan"]).ok().stdout;
    assert!(text.contains("phone   = (sensitive value)"), "{text}");
    assert!(!text.contains("+27"), "{text}");
    let json = ws.run(&["plan", "--json"]).ok().stdout;
    assert!(!json.contains("+27"), "{json}");
    assert!(json.contains(r#""phone": "(sensitive value)""#), "{json}");
    // The value is still written.
    ws.run(&["plan", "--out", "plan.json"]).ok();
    ws.run(&["apply", "plan.json"]).ok();
    let phone = ws.query("SELECT phone FROM customers WHERE name = 'Leopard Lodge'");
    assert_eq!(phone[0][0].as_deref(), Some("+27832676406"));
}

/// Firms known by their email, in a table made without a unique index on it.
fn firms_by_email(rows: &[(&str, &str, &str)]) -> Workspace {
    let ws = Workspace::empty();
    let lines: Vec<String> = rows
        .iter()
        .map(|(id, name, email)| format!("{id},{name},{email}"))
        .collect();
    ws.write(
        "specs/firms.csv",
        &format!("id,name,email\n{}\n", lines.join("\n")),
    );
    ws.write(
        "specs/firms.yaml",
        "version: 1\nresource: firms\ntarget:\n  table: firms\n  key: email\n  fields:\n    \
         name: { type: text, required: true }\n    email: { type: email }\n\
         sources:\n  list:\n    file: firms.csv\n    id: id\n    \
         fields: { name: name, email: email }\n",
    );
    ws
}

#[test]
fn a_new_record_taking_the_key_of_a_row_up_to_date_is_refused_whether_listed_or_not() {
    let ws = firms_by_email(&[("1", "Acme", "info@acme.example")]);
    ws.execute("CREATE TABLE firms (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT)");
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_eq!(count(&ws, "SELECT COUNT(*) FROM firms"), 1);

    // Acme is up to date (a plain plan counts it without listing it); a new firm claims its
    // email, which the table does not forbid but `target.key` does.
    ws.write(
        "specs/firms.csv",
        "id,name,email\n1,Acme,info@acme.example\n2,Zenith,info@acme.example\n",
    );
    for args in [
        &["plan"][..],
        &["plan", "--json"],
        &["apply", "--auto-approve"],
    ] {
        let run = ws.run(args);
        assert_ne!(run.code, 0, "{args:?}: {}", run.stdout);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            all.contains("`target.key` (email) must be unique, but 2 golden records share a key"),
            "{args:?}: {all}"
        );
        assert!(
            all.contains(r#"firms["acme"] (from list:1)"#) && all.contains(r#"firms["zenith"]"#),
            "{args:?}: both holders are named: {all}"
        );
    }
    assert_eq!(
        count(&ws, "SELECT COUNT(*) FROM firms"),
        1,
        "nothing written"
    );
}
