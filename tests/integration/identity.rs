//! A record's identity never depends on where it sits in a file. The shipped example's import
//! list has no `id:`: its records are named by their content, so after an apply, reordering
//! its rows changes nothing, deleting a row touches only that record's golden record,
//! inserting rows only creates, and an edited record is an update of its own row.

use serde_json::Value;

use crate::common::Workspace;

const CSV: &str = "examples/customers/import_customers.csv";

/// The CSV's header and its rows.
fn csv_rows(ws: &Workspace) -> (String, Vec<String>) {
    let text = ws.read(CSV);
    let mut lines = text.lines().map(String::from);
    let header = lines.next().unwrap();
    (header, lines.filter(|l| !l.is_empty()).collect())
}

fn write_csv(ws: &Workspace, header: &str, rows: &[String]) {
    ws.write(CSV, &format!("{header}\n{}\n", rows.join("\n")));
}

/// The changes of a JSON plan that do something: `(action, address)`.
fn acting(plan: &Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["address"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn applied() -> Workspace {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws
}

#[test]
fn reversing_the_rows_of_a_source_without_id_changes_nothing() {
    let ws = applied();
    let (header, mut rows) = csv_rows(&ws);
    rows.reverse();
    write_csv(&ws, &header, &rows);
    let run = ws.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
}

#[test]
fn deleting_a_row_affects_only_its_own_golden_record() {
    let ws = applied();
    let (header, rows) = csv_rows(&ws);
    // The first row: every later row moves up one line.
    let rows: Vec<String> = rows
        .into_iter()
        .filter(|r| !r.starts_with("Debonair Pizza,"))
        .collect();
    write_csv(&ws, &header, &rows);

    // With `on_missing: keep`, the row stays and nothing else changes.
    let run = ws.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(acting(&plan), Vec::<(String, String)>::new());
    let kept: Vec<&str> = plan["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["address"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["customers[\"debonair-pizza\"]"]);

    // Pruned, exactly that row goes.
    let plan = ws.run(&["plan", "--json", "--prune"]).ok().json();
    assert_eq!(
        acting(&plan),
        [(
            "delete".to_string(),
            "customers[\"debonair-pizza\"]".to_string()
        )]
    );
}

#[test]
fn deleting_the_first_row_of_a_list_shifts_no_record_onto_another() {
    // A list of one source only, where every record is its own golden record: with row
    // numbers as ids, deleting the first line renamed every record after it.
    let ws = Workspace::empty();
    ws.write(
        "specs/firms.yaml",
        "version: 1\nresource: firms\ntarget:\n  table: firms\n  key: email\n  fields:\n    \
         name: { type: text, required: true }\n    email: { type: email }\n\
         sources:\n  list:\n    file: firms.csv\n    fields: { name: Name, email: Email }\n\
         on_missing: delete\nmax_delete: 1\n",
    );
    let rows: Vec<String> = (1..=30)
        .map(|i| format!("Firm {i},firm{i}@example.com"))
        .collect();
    ws.write(
        "specs/firms.csv",
        &format!("Name,Email\n{}\n", rows.join("\n")),
    );
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.write(
        "specs/firms.csv",
        &format!("Name,Email\n{}\n", rows[1..].join("\n")),
    );
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(
        acting(&plan),
        [("delete".to_string(), "firms[\"firm-1\"]".to_string())]
    );
    ws.run(&["apply", "--auto-approve"]).ok();
    let rows = ws.query("SELECT name, email FROM firms ORDER BY id");
    assert_eq!(rows.len(), 29);
    for (i, row) in rows.iter().enumerate() {
        let n = i + 2;
        assert_eq!(row[0].as_deref(), Some(format!("Firm {n}").as_str()));
        assert_eq!(
            row[1].as_deref(),
            Some(format!("firm{n}@example.com").as_str())
        );
    }
}

#[test]
fn inserting_rows_only_creates_them() {
    let ws = applied();
    let (header, mut rows) = csv_rows(&ws);
    rows.insert(
        0,
        "Nandos Rosebank,Manager,rosebank@nandos.example,+27 11 555 0100,business".into(),
    );
    rows.insert(
        5,
        "Wimpy Sandton,Manager,sandton@wimpy.example,+27 11 555 0101,business".into(),
    );
    write_csv(&ws, &header, &rows);
    let plan = ws.run(&["plan", "--json"]).ok().json();
    let mut changes = acting(&plan);
    changes.sort();
    assert_eq!(
        changes,
        [
            (
                "create".to_string(),
                "customers[\"nandos-rosebank\"]".to_string()
            ),
            (
                "create".to_string(),
                "customers[\"wimpy-sandton\"]".to_string()
            ),
        ]
    );
}

#[test]
fn editing_a_record_without_id_updates_its_own_row() {
    let ws = applied();
    let before = ws.query("SELECT id FROM customers WHERE email = 'supplies@debonair.co.za'");
    ws.edit(CSV, "Debonair Pizza,", "Debonair Pizza Rosebank,");
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(
        acting(&plan),
        [(
            "update".to_string(),
            "customers[\"debonair-pizza\"]".to_string()
        )]
    );
    let update = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update")
        .unwrap();
    assert_eq!(update["changed"], serde_json::json!(["name"]));
    assert_eq!(update["reason"], "source_changed");
    assert!(plan["kept"].as_array().unwrap().is_empty(), "{plan}");

    ws.run(&["apply", "--auto-approve"]).ok();
    let after = ws.query("SELECT id, name FROM customers WHERE email = 'supplies@debonair.co.za'");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0][0], before[0][0], "the same row");
    assert_eq!(after[0][1].as_deref(), Some("Debonair Pizza Rosebank"));
    let run = ws.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let addresses = ws.query("SELECT address FROM reconcile_state WHERE address LIKE 'debonair%'");
    assert_eq!(addresses, [[Some("debonair-pizza".to_string())]]);
}

#[test]
fn editing_the_key_of_a_record_without_id_is_recognised_by_the_matcher() {
    let ws = applied();
    ws.edit(CSV, "supplies@debonair.co.za", "orders@debonair.co.za");
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(
        acting(&plan),
        [(
            "update".to_string(),
            "customers[\"debonair-pizza\"]".to_string()
        )]
    );
}

#[test]
fn reformatting_a_value_without_changing_it_is_no_change() {
    // The phone is written another way: the record's content id changes, the normalised
    // values do not, so the plan has nothing to do (it only records the new id).
    let ws = applied();
    ws.edit(CSV, "+27 11 555 0005", "011 555 0005");
    let run = ws.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    ws.run(&["apply", "--auto-approve"]).ok();
    let members = ws.query("SELECT members FROM reconcile_state WHERE address = 'debonair-pizza'");
    let plan = ws.run(&["plan", "--json"]).ok().json();
    let change = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "customers[\"debonair-pizza\"]")
        .unwrap();
    assert_eq!(change["action"], "no-op");
    assert!(
        members[0][0]
            .as_deref()
            .unwrap()
            .contains(change["sources"][0].as_str().unwrap()),
        "the state names the record by its new id: {members:?} {change}"
    );
}

#[test]
fn a_pair_naming_a_record_that_was_edited_is_an_error_not_ignored() {
    // The Maltos row of the import list has no `id:`: its id is a content fingerprint.
    let ws = Workspace::seed();
    ws.edit(
        "specs/customers.yaml",
        "    phone: { method: exact }\n",
        "    phone: { method: exact }\n  distinct: [[production:8, import:f5a85888b430]]\n",
    );
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(plan["summary"]["create"], 18, "the pair splits Maltos");

    // Edited, the record has another id: the pair would silently stop applying.
    ws.edit(CSV, "Maltos,Manager,", "Maltos,Owner,");
    let run = ws.run(&["plan"]).fails();
    for want in [
        "source `import`",
        "`match.distinct` on line 50 of specs/customers.yaml names `import:f5a85888b430`, which \
         is no record of this source",
        "write the pair again with the id the plan prints",
    ] {
        assert!(
            run.stderr.contains(want),
            "missing {want:?} in\n{}",
            run.stderr
        );
    }
}
