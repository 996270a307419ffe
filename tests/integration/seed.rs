//! The shipped example: the seed scenario from the old customer-sync script.

use crate::common::Workspace;

/// (import record id, the production address it must join) for the five similar names. The
/// import list has no `id:`: its ids are fingerprints of each record's content.
const VARIANTS: &[(&str, &str, &str)] = &[
    ("import:f5a85888b430", "Maltos", "maltos-sun-city"),
    ("import:8ae4a140f2a5", "T-junction", "the-t-junction"),
    ("import:dc6d5df4040b", "Luma", "luma-bar-and-lounge"),
    ("import:67f800316c5f", "Barchef Entertainment", "barchefz"),
    ("import:d7833aa86b49", "Valley", "valley-barchefz-branch"),
];

#[test]
fn plan_adds_17_customers_excludes_3_and_writes_nothing() {
    let ws = Workspace::seed();
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout
            .contains("Plan: 17 to add, 0 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("by rule \"private customers\"").count(),
        3
    );
    assert!(
        !ws.db_path().exists(),
        "plan must not create the database file"
    );
}

#[test]
fn similar_names_join_their_production_record_and_production_wins() {
    let ws = Workspace::seed();
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(plan["format_version"], "1");
    assert_eq!(plan["summary"]["create"], 17);
    assert_eq!(plan["summary"]["excluded"], 3);
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 17);
    for (record, name, address) in VARIANTS {
        let want = format!("customers[\"{address}\"]");
        let change = changes
            .iter()
            .find(|c| c["address"] == want.as_str())
            .unwrap_or_else(|| panic!("no change for {want}"));
        let sources: Vec<&str> = change["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(
            sources.contains(record),
            "{name} ({record}) should join {want}, sources: {sources:?}"
        );
        assert!(sources[0].starts_with("production:"), "{sources:?}");
        // Production's values win: no field comes from the placeholder import data.
        for (field, origin) in change["provenance"].as_object().unwrap() {
            assert!(
                origin.as_str().unwrap().starts_with("production:"),
                "{want}.{field} came from {origin}"
            );
        }
    }
    let maltos = changes
        .iter()
        .find(|c| c["address"] == "customers[\"maltos-sun-city\"]")
        .unwrap();
    assert_eq!(maltos["after"]["email"], "suncity@maltos.co.za");
    assert_eq!(maltos["after"]["name"], "Maltos Sun City");
    // The four customers only the import list has.
    for name in [
        "Mugg and Bean",
        "Debonair Pizza",
        "Venue",
        "Culinary Institute",
    ] {
        assert!(
            changes.iter().any(|c| c["after"]["name"] == name),
            "{name} missing"
        );
    }
    let excluded = plan["excluded"].as_array().unwrap();
    assert!(excluded.iter().all(|e| e["rule"] == "private customers"));
}

#[test]
fn apply_then_plan_shows_no_changes() {
    let ws = Workspace::seed();
    let run = ws.run(&["apply", "--auto-approve"]).ok();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 17 added, 0 changed, 0 destroyed."),
        "{}",
        run.stdout
    );
    let rows = ws.query("SELECT name, email, phone FROM customers ORDER BY name");
    assert_eq!(rows.len(), 17);
    assert!(rows.contains(&vec![
        Some("Maltos Sun City".into()),
        Some("suncity@maltos.co.za".into()),
        Some("+27145575600".into())
    ]));
    // "082 874 8637" was stored in E.164.
    assert!(rows.iter().any(|r| r[2].as_deref() == Some("+27828748637")));
    let managed = ws.query("SELECT count(*) FROM reconcile_state WHERE resource = 'customers'");
    assert_eq!(managed[0][0].as_deref(), Some("17"));

    let again = ws.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn human_plan_snapshot() {
    let ws = Workspace::seed();
    let run = ws.run(&["plan"]).ok();
    insta::assert_snapshot!("seed_plan", run.stdout);
}

#[test]
fn validate_reads_everything_and_opens_no_database() {
    let ws = Workspace::seed();
    let run = ws.run(&["validate"]).ok();
    assert!(
        run.stdout.contains("28 records read from 2 sources"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("3 excluded"), "{}", run.stdout);
    assert!(run.stdout.contains("17 records golden"), "{}", run.stdout);
    assert!(!ws.db_path().exists());
}
