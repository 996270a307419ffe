//! The user's loop beyond the first apply: edits, adoption, confirmation, exit codes.

use crate::common::Workspace;

#[test]
fn detailed_exitcode_is_2_with_changes() {
    let ws = Workspace::seed();
    let run = ws.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn editing_a_source_value_plans_one_update_field_by_field() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.edit(
        "examples/customers/production_seeding.json",
        "suncity@maltos.co.za",
        "orders@maltos.co.za",
    );
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(r#"~ email   = "suncity@maltos.co.za" -> "orders@maltos.co.za""#),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("(4 unchanged fields hidden)"),
        "{}",
        run.stdout
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    let update = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update")
        .unwrap();
    assert_eq!(update["address"], "customers[\"maltos-sun-city\"]");
    assert_eq!(update["changed"], serde_json::json!(["email"]));
    assert_eq!(update["before"]["email"], "suncity@maltos.co.za");
    assert_eq!(update["after"]["email"], "orders@maltos.co.za");

    ws.run(&["apply", "--auto-approve"]).ok();
    let email = ws.query("SELECT email FROM customers WHERE name = 'Maltos Sun City'");
    assert_eq!(email[0][0].as_deref(), Some("orders@maltos.co.za"));
    assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
}

#[test]
fn renaming_a_customer_is_an_update_at_the_same_address() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.edit(
        "examples/customers/production_seeding.json",
        "\"Shebeen\"",
        "\"Shebeen Tavern\"",
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["summary"]["create"], 0);
    assert_eq!(json["summary"]["update"], 1);
    let update = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update")
        .unwrap();
    assert_eq!(update["address"], "customers[\"shebeen\"]");
}

#[test]
fn existing_rows_are_adopted_not_duplicated() {
    let ws = Workspace::seed();
    ws.execute(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, \
         contact_person TEXT, email TEXT, phone TEXT, customer_type TEXT, notes TEXT); \
         INSERT INTO customers (name, email, notes) VALUES ('Leopard Lodge Hotel', 'info@leopardlodge.co.za', 'keep me'); \
         INSERT INTO customers (name, notes) VALUES ('Shebeen', 'keep me too');",
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["create_table"], false);
    assert_eq!(json["summary"]["create"], 15);
    assert_eq!(json["summary"]["update"], 2);
    let reasons: Vec<(&str, &str)> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "update")
        .map(|c| {
            (
                c["address"].as_str().unwrap(),
                c["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        reasons.contains(&("customers[\"leopard-lodge\"]", "adopt_by_key")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("customers[\"shebeen\"]", "adopt_by_match")),
        "{reasons:?}"
    );

    ws.run(&["apply", "--auto-approve"]).ok();
    let rows =
        ws.query("SELECT id, name, notes FROM customers WHERE notes IS NOT NULL ORDER BY id");
    assert_eq!(
        rows,
        vec![
            vec![
                Some("1".into()),
                Some("Leopard Lodge".into()),
                Some("keep me".into())
            ],
            vec![
                Some("2".into()),
                Some("Shebeen".into()),
                Some("keep me too".into())
            ],
        ],
        "adopted rows keep their id and the columns the spec does not map"
    );
    assert_eq!(
        ws.query("SELECT count(*) FROM customers")[0][0].as_deref(),
        Some("17")
    );
    assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
}

#[test]
fn apply_without_a_terminal_refuses_unless_auto_approved() {
    let ws = Workspace::seed();
    let run = ws.run(&["apply"]).fails();
    assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
    assert!(!ws.db_path().exists(), "nothing may be written");
}

#[test]
fn a_row_changed_outside_reconcile_is_reported_and_restored() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.execute("UPDATE customers SET phone = '+27000000000' WHERE name = 'Revue Bar'");
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout.contains("changed outside reconcile: phone"),
        "{}",
        run.stdout
    );
    ws.run(&["apply", "--auto-approve"]).ok();
    let phone = ws.query("SELECT phone FROM customers WHERE name = 'Revue Bar'");
    assert_eq!(phone[0][0].as_deref(), Some("+27847505430"));
}

#[test]
fn a_record_that_leaves_the_sources_is_kept_and_mentioned() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.edit(
        "examples/customers/import_customers.csv",
        "Venue,Event Manager,events@venue.co.za,+27 11 555 0014,business\n",
        "",
    );
    let run = ws.run(&["plan"]).ok();
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
    assert!(
        run.stdout.contains("customers[\"venue\"]"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("on_missing: keep"), "{}", run.stdout);
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_eq!(
        ws.query("SELECT count(*) FROM customers")[0][0].as_deref(),
        Some("17")
    );
}

#[test]
fn database_flag_and_environment_choose_the_database() {
    let ws = Workspace::seed();
    let url = format!("sqlite://{}", ws.path("elsewhere.db").display());
    ws.run(&["apply", "--auto-approve", "--database", &url])
        .ok();
    assert!(ws.path("elsewhere.db").exists());
    assert!(!ws.db_path().exists());
    let run = ws.run(&["plan", "--database", &url]).ok();
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let ws = Workspace::empty();
    let run = ws.run(&["schema"]).ok();
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/reconcile.schema.json"),
    )
    .unwrap();
    assert_eq!(
        run.stdout, committed,
        "schemas/reconcile.schema.json is out of date: run `cargo run -- schema > schemas/reconcile.schema.json`"
    );
}

#[test]
fn a_new_record_that_matches_an_orphaned_managed_row_takes_it_over() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    // "Venue" leaves the import list and a new production record (a new id) arrives with
    // its email under a longer name: the managed row is updated, not duplicated.
    ws.edit(
        "examples/customers/import_customers.csv",
        "Venue,Event Manager,events@venue.co.za,+27 11 555 0014,business\n",
        "",
    );
    let fixture = "examples/customers/production_seeding.json";
    let mut rows: serde_json::Value = serde_json::from_str(&ws.read(fixture)).unwrap();
    rows.as_array_mut().unwrap().push(serde_json::json!({
        "model": "inventory.customer",
        "pk": 99,
        "fields": {
            "business_name": "The Venue Events",
            "contact_person": "Event Manager",
            "email": "events@venue.co.za",
            "phone": "+27 11 555 0014",
            "customer_type": "business"
        }
    }));
    ws.write(fixture, &serde_json::to_string_pretty(&rows).unwrap());
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["summary"]["create"], 0, "{json:#}");
    assert_eq!(json["summary"]["update"], 1, "{json:#}");
    let update = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update")
        .unwrap();
    assert_eq!(update["address"], "customers[\"venue\"]");
    assert_eq!(update["after"]["name"], "The Venue Events");
    assert_eq!(json["kept"].as_array().map_or(0, Vec::len), 0, "{json:#}");
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_eq!(
        ws.query("SELECT count(*) FROM customers")[0][0].as_deref(),
        Some("17")
    );
    assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
}
