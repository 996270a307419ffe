//! A folder of specs does what one spec does: a saved plan (`--out`, then `apply FILE` in one
//! transaction, refused when any resource went stale), the HTML report, `--explain`,
//! `explain ADDRESS`, and `--lock`.

use crate::common::{Workspace, on_each_backend};
use crate::multi::{on_folder, seeding};

on_each_backend! {
    fn a_saved_folder_plan_applies_every_resource_in_one_transaction(ws) {
        seeding(&ws);
        let plan = on_folder(&ws, &["plan", "--out", "folder.json"]).ok();
        assert!(plan.stdout.contains("reconcile apply folder.json"), "{}", plan.stdout);
        let saved: serde_json::Value = serde_json::from_str(ws.read("folder.json").lines().next().unwrap()).unwrap();
        assert_eq!(saved["group"], true);
        assert_eq!(saved["resources"].as_array().map(Vec::len), Some(2));
        assert_eq!(saved["resources"][1]["plan"]["resource"], "branches");

        // No --database: the plan's own.
        let run = ws
            .run_with_env(&["apply", "folder.json"], &[("DATABASE_URL", None)])
            .ok();
        assert!(run.stdout.contains("# branches"), "shown as a folder: {}", run.stdout);
        assert!(
            run.stdout.contains("Apply complete! Resources: 22 added, 0 changed, 0 destroyed."),
            "{}",
            run.stdout
        );
        let rows = ws.query(
            "SELECT b.name FROM branches b JOIN customers c ON c.id = b.customer_id \
             WHERE c.name = 'Barchefz' ORDER BY b.name",
        );
        assert_eq!(rows.len(), 2, "{rows:?}");
        let again = on_folder(&ws, &["plan", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);

        // A plan of both resources; then another change to each table, in turn, makes it
        // stale, naming the resource's record; nothing is written.
        ws.edit(
            "examples/branches/branches.csv",
            "Barchefz Centurion,Barchefz,",
            "Barchefz Centurion,Leopard Lodge,",
        );
        ws.edit(
            "examples/customers/production_seeding.json",
            "suncity@maltos.co.za",
            "orders@maltos.co.za",
        );
        on_folder(&ws, &["plan", "--out", "folder.json"]).ok();
        ws.execute("UPDATE customers SET contact_person = 'Someone' WHERE name = 'Revue Bar'");
        let run = ws.run(&["apply", "folder.json"]).fails();
        assert!(
            run.stderr
                .contains(r#"1 row changed since the plan: customers["revue-bar"] contact"#),
            "{}",
            run.stderr
        );
        on_folder(&ws, &["apply", "--auto-approve"]).ok();

        ws.edit(
            "examples/branches/branches.csv",
            "Barchefz Centurion,Leopard Lodge,",
            "Barchefz Centurion,Barchefz,",
        );
        on_folder(&ws, &["plan", "--out", "folder.json"]).ok();
        ws.execute("UPDATE branches SET city = 'Nowhere' WHERE name = 'Maltos Rustenburg'");
        let before = ws.query("SELECT name, customer_id, city FROM branches ORDER BY name");
        let run = ws.run(&["apply", "folder.json"]).fails();
        assert!(
            run.stderr
                .contains(r#"1 row changed since the plan: branches["maltos-rustenburg"] city"#),
            "{}",
            run.stderr
        );
        assert_eq!(
            before,
            ws.query("SELECT name, customer_id, city FROM branches ORDER BY name"),
            "a refused plan writes nothing"
        );
    }
}

#[test]
fn a_saved_folder_plan_is_refused_when_a_resource_source_changed() {
    let ws = Workspace::seed();
    seeding(&ws);
    on_folder(&ws, &["plan", "--out", "folder.json"]).ok();
    ws.edit(
        "examples/branches/branches.csv",
        "Barchefz Centurion,Barchefz,",
        "Barchefz Centurion,Leopard Lodge,",
    );
    let run = ws.run(&["apply", "folder.json"]).fails();
    assert!(
        run.stderr.contains(
            "the saved plan is stale: resource `branches`: a file changed since it was made: \
             source `branches`"
        ),
        "{}",
        run.stderr
    );
    assert!(
        !ws.path("examples/seeding/reconcile.db").exists() || {
            let db = ws.path("examples/seeding/reconcile.db");
            crate::common::query(&db, "SELECT COUNT(*) FROM sqlite_master")[0][0].as_deref()
                == Some("0")
        }
    );
}

#[test]
fn a_targeted_folder_plan_saves_and_applies_only_its_part() {
    let ws = Workspace::seed();
    seeding(&ws);
    let run = on_folder(
        &ws,
        &["plan", "--target", "customers", "--out", "part.json"],
    )
    .ok();
    assert!(!run.stdout.contains("# branches"), "{}", run.stdout);
    let run = ws.run(&["apply", "part.json"]).ok();
    assert!(
        run.stderr
            .contains("Warning: resource targeting is in effect (customers)"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("17 added"), "{}", run.stdout);
    assert_eq!(
        ws.query("SELECT COUNT(*) FROM customers"),
        vec![vec![Some("17".into())]]
    );
}

#[test]
fn a_folder_report_holds_every_resource() {
    let ws = Workspace::seed();
    seeding(&ws);
    let run = on_folder(&ws, &["plan", "--html", "report.html"]).ok();
    assert!(
        run.stderr.contains("Wrote the report to report.html."),
        "{}",
        run.stderr
    );
    let html = ws.read("report.html");
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains(
        "<p class=\"verdict\" id=\"verdict\">Plan (all resources): 22 to add, 0 to change, 0 to destroy.</p>"
    ));
    for resource in ["customers", "branches"] {
        assert!(
            html.contains(&format!(
                "<article class=\"resource\" id=\"resource-{resource}\">"
            )),
            "{resource}"
        );
        assert!(
            html.contains(&format!(
                "<table data-table=\"resource-{resource}-changes\">"
            )),
            "{resource}"
        );
    }
    assert!(html.contains("data-kind=\"create\" data-count=\"17\""));
    assert!(html.contains("data-kind=\"create\" data-count=\"5\""));
    assert!(html.contains("branches[&quot;barchefz-centurion&quot;]"));
    // Ids are unique across the resources.
    let ids: Vec<&str> = html
        .split(" id=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "{ids:?}");

    // A record as target cannot be shown whole.
    let run = on_folder(
        &ws,
        &[
            "plan",
            "--html",
            "r.html",
            "--target",
            r#"branches["valley-barchefz-branch"]"#,
        ],
    )
    .fails();
    assert!(
        run.stderr.contains("show whole resources"),
        "{}",
        run.stderr
    );
}

#[test]
fn explain_in_a_folder_finds_the_address_in_its_resource() {
    let ws = Workspace::seed();
    seeding(&ws);
    let url = ws.url();
    let explain = |args: &[&str]| {
        let mut all = vec!["explain"];
        all.extend(args);
        all.extend(["-f", "examples/seeding", "--database", &url]);
        ws.run(&all)
    };
    let run = explain(&[r#"branches["valley-barchefz-branch"]"#]).ok();
    assert!(
        run.stdout
            .starts_with(r#"branches["valley-barchefz-branch"] will be created"#),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(r#"customer = "customers[\"barchefz\"]""#),
        "references resolved as in the plan: {}",
        run.stdout
    );
    // A customer of several records, with its links.
    let run = explain(&[r#"customers["maltos-sun-city"]"#]).ok();
    assert!(run.stdout.contains("production:8"), "{}", run.stdout);
    assert!(run.stdout.contains("import:f5a85888b430"), "{}", run.stdout);
    // A key alone, when one resource has it.
    let run = explain(&["barchefz-centurion"]).ok();
    assert!(
        run.stdout.starts_with(r#"branches["barchefz-centurion"]"#),
        "{}",
        run.stdout
    );
    // The key of records of two resources must name the resource.
    let run = explain(&["maltos-sun-city"]).fails();
    assert!(
        run.stderr
            .contains(r#"customers["maltos-sun-city"], branches["maltos-sun-city"]"#),
        "{}",
        run.stderr
    );
    let run = explain(&[r#"branch["x"]"#]).fails();
    assert!(
        run.stderr.contains("did you mean branches?"),
        "{}",
        run.stderr
    );
    let run = explain(&[r#"branches["valley-barchefs"]"#]).fails();
    assert!(
        run.stderr
            .contains(r#"did you mean branches["valley-barchefz-branch"]?"#),
        "{}",
        run.stderr
    );

    // Without an address: a summary of each resource, parents first.
    let run = explain(&[]).ok();
    let customers = run.stdout.find("# customers").expect("customers");
    let branches = run.stdout.find("# branches").expect("branches");
    assert!(customers < branches, "{}", run.stdout);
    let json = explain(&["--json"]).ok().json();
    assert_eq!(json["resources"][0]["resource"], "customers");
    assert_eq!(json["resources"][1]["resource"], "branches");
    assert_eq!(json["resources"][1]["golden_records"], 5);
}

#[test]
fn plan_explain_and_lock_work_on_a_folder() {
    let ws = Workspace::seed();
    seeding(&ws);
    on_folder(&ws, &["apply", "--auto-approve"]).ok();
    let run = on_folder(&ws, &["plan", "--explain", "--lock"]).ok();
    assert!(
        run.stdout
            .contains("No changes. The database matches the specs"),
        "{}",
        run.stdout
    );
    let after = run.stdout.find("No changes.").unwrap();
    assert!(
        run.stdout[after..].contains("\n# customers\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout[after..].contains("\n# branches\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(r#"customers["maltos-sun-city"] is up to date"#),
        "{}",
        run.stdout
    );
}

/// `plan --lock` of a folder takes the lock of every table, as an apply does: while another
/// connection holds the database's write lock, the plan is refused (with no wait), and it
/// goes ahead once the lock is released.
#[test]
fn a_locked_folder_plan_needs_the_lock() {
    let ws = Workspace::seed();
    seeding(&ws);
    on_folder(&ws, &["apply", "--auto-approve"]).ok();
    let db = ws.db_path();
    let url = ws.url();
    let (held_tx, held) = std::sync::mpsc::channel::<()>();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts)
                .await
                .unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .unwrap();
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
        });
    });
    held.recv().unwrap();
    let args = [
        "plan",
        "-f",
        "examples/seeding",
        "--database",
        &url,
        "--lock",
    ];
    let run = ws.run(&args);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("is locked"), "{}", run.stderr);
    // Without --lock the plan reads as usual.
    ws.run(&args[..5]).ok();
    release.send(()).unwrap();
    holder.join().unwrap();
    ws.run(&args).ok();
}
