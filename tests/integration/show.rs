//! `reconcile show PLANFILE`: a saved plan printed as `plan` printed it (text, JSON, Markdown;
//! a folder's as a folder's), with nothing applied and no database opened; and the database a
//! saved plan goes to: the one it was made against, unless one is named, which must be that
//! one; a password is never stored, and comes from the environment or the spec.

use crate::common::{Backend, Workspace};

/// Every table of the workspace's SQLite database, or none when it does not exist.
fn tables(ws: &Workspace) -> Vec<Vec<Option<String>>> {
    if !ws.db_path().exists() {
        return Vec::new();
    }
    ws.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
}

#[test]
fn show_prints_a_saved_plan_as_plan_did_and_applies_nothing() {
    let ws = Workspace::seed();
    let plan = ws.run(&["plan"]).ok();
    let saved = ws.run(&["plan", "--out", "plan.json"]).ok();
    assert!(
        saved.stdout.starts_with(&plan.stdout),
        "{}\n{}",
        plan.stdout,
        saved.stdout
    );
    let shown = ws.run(&["show", "plan.json"]).ok();
    assert_eq!(shown.stdout, plan.stdout);
    assert!(tables(&ws).is_empty(), "show opened no database");

    let json = ws.run(&["plan", "--json"]).ok();
    assert_eq!(
        ws.run(&["show", "plan.json", "--json"]).ok().stdout,
        json.stdout
    );
    assert_eq!(
        ws.run(&["show", "plan.json", "--format", "json"])
            .ok()
            .stdout,
        json.stdout
    );
    assert_eq!(
        ws.run(&["show", "plan.json", "--format", "markdown"])
            .ok()
            .stdout,
        ws.run(&["plan", "--format", "markdown"]).ok().stdout
    );
    insta::assert_snapshot!("show_seed", shown.stdout);

    // Still nothing written, and the plan still applies.
    assert!(tables(&ws).is_empty());
    ws.run(&["apply", "plan.json"]).ok();
    assert_eq!(
        ws.query("SELECT COUNT(*) FROM customers"),
        vec![vec![Some("17".into())]]
    );
}

#[test]
fn show_of_a_plan_with_records_up_to_date_lists_them_as_plan_did() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.edit(
        "examples/customers/production_seeding.json",
        "suncity@maltos.co.za",
        "orders@maltos.co.za",
    );
    let plan = ws.run(&["plan", "--full"]).ok();
    ws.run(&["plan", "--out", "plan.json"]).ok();
    assert_eq!(
        ws.run(&["show", "plan.json", "--full"]).ok().stdout,
        plan.stdout
    );
    let json = ws.run(&["show", "plan.json", "--json"]).ok();
    assert_eq!(json.stdout, ws.run(&["plan", "--json"]).ok().stdout);
    let changes = json.json()["changes"].as_array().unwrap().clone();
    assert_eq!(changes.len(), 17, "the records up to date are listed too");
    assert_eq!(
        changes.iter().filter(|c| c["action"] == "no-op").count(),
        16
    );
    // The database is not read: a row changed since shows nothing new.
    ws.execute("UPDATE customers SET contact_person = 'Someone' WHERE name = 'Revue Bar'");
    assert_eq!(
        ws.run(&["show", "plan.json", "--full"]).ok().stdout,
        plan.stdout
    );
}

#[test]
fn show_of_a_folder_plan_prints_it_as_a_folder() {
    let ws = Workspace::seed();
    crate::multi::seeding(&ws);
    let plan = crate::multi::on_folder(&ws, &["plan"]).ok();
    crate::multi::on_folder(&ws, &["plan", "--out", "folder.json"]).ok();
    let shown = ws.run(&["show", "folder.json"]).ok();
    assert_eq!(shown.stdout, plan.stdout);
    assert!(shown.stdout.contains("# branches"), "{}", shown.stdout);
    assert_eq!(
        ws.run(&["show", "folder.json", "--json"]).ok().stdout,
        crate::multi::on_folder(&ws, &["plan", "--json"])
            .ok()
            .stdout
    );
    insta::assert_snapshot!("show_folder", shown.stdout);
}

/// As Terraform's `show` without a plan: what the state holds, each entry with its row; the
/// same entries as `state list`, and nothing written.
#[test]
fn show_without_a_plan_file_prints_the_state() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    let shown = ws.run(&["show"]).ok();
    assert!(
        shown.stdout.contains("# customers[\"maltos-sun-city\"]:"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("name    = \"Maltos Sun City\""),
        "{}",
        shown.stdout
    );
    let listed = ws.run(&["state", "list", "--json"]).ok().json();
    let json = ws.run(&["show", "--json"]).ok().json();
    let addresses = |v: &serde_json::Value| -> Vec<String> {
        v["resources"][0]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["address"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(addresses(&json), addresses(&listed));
    assert_eq!(addresses(&json).len(), 17);
    assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
}

#[test]
fn show_refuses_a_file_of_another_format_asking_to_plan_again() {
    let ws = Workspace::seed();
    ws.run(&["plan", "--out", "plan.json"]).ok();
    ws.edit(
        "plan.json",
        "\"format_version\":\"6\"",
        "\"format_version\":\"5\"",
    );
    for cmd in [&["show", "plan.json"][..], &["apply", "plan.json"][..]] {
        let run = ws.run(cmd).fails();
        assert!(
            run.stderr.contains("make the plan again"),
            "{cmd:?}: {}",
            run.stderr
        );
    }
    ws.write("other.json", "{\"kind\": \"something else\"}");
    let run = ws.run(&["show", "other.json"]).fails();
    assert!(
        run.stderr
            .contains("not a file written by `reconcile plan --out`"),
        "{}",
        run.stderr
    );
}

/// The records up to date are on the file's second line: `show` needs it, apply never reads
/// it.
#[test]
fn the_records_up_to_date_are_read_by_show_only() {
    let ws = Workspace::seed();
    ws.run(&["plan", "--out", "plan.json"]).ok();
    let file = ws.read("plan.json");
    let first = file.lines().next().unwrap();
    ws.write("plan.json", &format!("{first}\n{{\"truncated"));
    let run = ws.run(&["show", "plan.json"]).fails();
    assert!(
        run.stderr.contains("its records up to date"),
        "{}",
        run.stderr
    );
    let run = ws.run(&["apply", "plan.json"]).ok();
    assert!(run.stdout.contains("17 added"), "{}", run.stdout);
}

#[test]
fn apply_of_a_saved_plan_uses_the_database_it_was_made_against() {
    let ws = Workspace::seed();
    // Made against a database named on the command line, relative to the working folder.
    ws.run(&[
        "plan",
        "--database",
        "sqlite://elsewhere.db",
        "--out",
        "plan.json",
    ])
    .ok();
    let saved: serde_json::Value =
        serde_json::from_str(ws.read("plan.json").lines().next().unwrap()).unwrap();
    let recorded = saved["database_url"].as_str().unwrap().to_string();
    assert!(
        recorded.starts_with("sqlite:///") && recorded.ends_with("/elsewhere.db"),
        "an absolute path: {recorded}"
    );
    // Applied from another folder, without naming it: the recorded one.
    let run = ws
        .run(&["apply", &ws.path("plan.json").display().to_string()])
        .ok();
    assert!(run.stdout.contains("17 added"), "{}", run.stdout);
    assert!(!ws.db_path().exists(), "not the spec's default database");
    assert_eq!(
        crate::common::query(&ws.path("elsewhere.db"), "SELECT COUNT(*) FROM customers"),
        vec![vec![Some("17".into())]]
    );

    // Another database, named either way, is refused and left alone.
    ws.edit(
        "examples/customers/production_seeding.json",
        "suncity@maltos.co.za",
        "orders@maltos.co.za",
    );
    ws.run(&[
        "plan",
        "--database",
        "sqlite://elsewhere.db",
        "--out",
        "plan.json",
    ])
    .ok();
    let run = ws
        .run(&["apply", "plan.json", "--database", "sqlite://other.db"])
        .fails();
    assert!(
        run.stderr.contains("this plan was made against sqlite:")
            && run.stderr.contains("other.db (--database)"),
        "{}",
        run.stderr
    );
    let run = ws
        .run_with_env(
            &["apply", "plan.json"],
            &[("DATABASE_URL", Some("sqlite://other.db"))],
        )
        .fails();
    assert!(
        run.stderr.contains("other.db (DATABASE_URL)"),
        "{}",
        run.stderr
    );
    assert!(!ws.path("other.db").exists());
    // The same database under another spelling is the same database.
    let same = format!("sqlite://{}", ws.path("elsewhere.db").display());
    ws.run(&["apply", "plan.json", "--database", &same]).ok();
}

/// A PostgreSQL URL with a password (the test server trusts local connections, so any
/// password connects): the file never holds it, and apply finds it in DATABASE_URL, in the
/// spec's `database: ${VAR}` or in PGPASSWORD, and says so when it finds none.
#[test]
fn a_saved_plan_never_holds_the_password_and_apply_says_where_to_give_it() {
    let Some(ws) = Workspace::seed_on(Backend::Postgres) else {
        return;
    };
    let url = ws.url();
    let with_password = url.replacen("://postgres@", "://postgres:hunter2-secret@", 1);
    assert_ne!(
        with_password, url,
        "the test server URL names the user postgres"
    );
    let no_env: &[(&str, Option<&str>)] = &[("DATABASE_URL", None), ("PGPASSWORD", None)];
    ws.run_with_env(
        &["plan", "--database", &with_password, "--out", "plan.json"],
        no_env,
    )
    .ok();
    let file = ws.read("plan.json");
    assert!(!file.contains("hunter2"), "{file}");
    let saved: serde_json::Value = serde_json::from_str(file.lines().next().unwrap()).unwrap();
    assert_eq!(saved["password"], true);

    let run = ws.run_with_env(&["apply", "plan.json"], no_env).fails();
    assert!(
        run.stderr
            .contains("with a password that a saved plan never keeps"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("set DATABASE_URL or pass --database")
            && run.stderr.contains("PGPASSWORD"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);

    // From the spec's `database: ${VAR}`.
    ws.edit(
        "specs/customers.yaml",
        "resource: customers",
        "resource: customers\ndatabase: ${APP_DATABASE}",
    );
    let env: &[(&str, Option<&str>)] = &[
        ("DATABASE_URL", None),
        ("PGPASSWORD", None),
        ("APP_DATABASE", Some(&with_password)),
    ];
    ws.run_with_env(&["plan", "--out", "plan.json"], env).ok();
    let run = ws.run_with_env(&["apply", "plan.json"], env).ok();
    assert!(run.stdout.contains("17 added"), "{}", run.stdout);
}
