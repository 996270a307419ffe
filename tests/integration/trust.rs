//! Defaults that decide which records merge or which rows change are never silent: matching
//! without `match.compare`, keys shared by two golden records, and updates that would replace
//! everything a row is known by.

use crate::common::Workspace;

/// The shipped spec with its `match` section taken out (threshold, review and compare).
fn without_match(ws: &Workspace) {
    let spec = ws.read("specs/customers.yaml");
    let start = spec.find("\nmatch:").expect("the spec has a match section");
    let end = spec.find("\non_missing:").expect("the spec has on_missing");
    ws.write(
        "specs/customers.yaml",
        &format!("{}{}", &spec[..start], &spec[end..]),
    );
}

#[test]
fn without_compare_the_field_types_choose_the_comparisons_and_the_plan_says_so() {
    let ws = Workspace::seed();
    without_match(&ws);
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout.contains(
            "Note: Matching compares name (name), email (email), phone (phone), chosen from the \
             field types because the spec has no `match.compare`."
        ),
        "{}",
        run.stdout
    );
    // The five similar names still join their production records: 17 customers, not 22.
    assert!(
        run.stdout
            .contains("Plan: 17 to add, 0 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["matching"]["origin"], "derived");
    assert_eq!(json["matching"]["comparisons"][1]["field"], "email");
    assert_eq!(json["matching"]["comparisons"][1]["method"], "email");
    assert!(
        json["matching"]["note"]
            .as_str()
            .unwrap()
            .contains("field types")
    );

    let validate = ws.run(&["validate"]).ok();
    assert!(
        validate.stdout.contains("chosen from the field types"),
        "{}",
        validate.stdout
    );
    let explain = ws.run(&["explain"]).ok();
    assert!(
        explain.stdout.contains("chosen from the field types"),
        "{}",
        explain.stdout
    );
}

#[test]
fn an_empty_compare_turns_matching_off_and_the_plan_says_so() {
    let ws = Workspace::seed();
    ws.edit(
        "specs/customers.yaml",
        "  compare:\n    name:  { method: name }\n    email: { method: exact }\n    phone: { method: exact }\n",
        "  compare: {}\n",
    );
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout
            .contains("Note: Matching is off (`match.compare: {}`)"),
        "{}",
        run.stdout
    );
    // Nothing links: every kept record is a customer of its own.
    assert!(
        run.stdout
            .contains("Plan: 25 to add, 0 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
    assert_eq!(
        ws.run(&["plan", "--json"]).ok().json()["matching"]["origin"],
        "off"
    );
}

#[test]
fn written_comparisons_add_no_note() {
    let ws = Workspace::seed();
    let run = ws.run(&["plan"]).ok();
    assert!(!run.stdout.contains("Note:"), "{}", run.stdout);
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["matching"]["origin"], "written");
    assert!(json["matching"].get("note").is_none());
}

#[test]
fn nothing_to_compare_by_default_is_said() {
    let ws = Workspace::empty();
    ws.write(
        "specs/items.yaml",
        "version: 1\nresource: items\ntarget:\n  table: items\n  fields:\n    code: { type: integer }\n    label: { type: text }\n\
         sources:\n  a:\n    inline: [{ code: 1, label: x }]\n    id: code\n    fields: { code: code, label: label }\n\
         \x20 b:\n    inline: [{ code: 1, label: x }]\n    id: code\n    fields: { code: code, label: label }\n",
    );
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout
            .contains("Note: Matching is off: the spec has no `match.compare`"),
        "{}",
        run.stdout
    );
}

/// Leopard Lodge (production:1) given everything another business is known by.
fn replace_leopard_lodge(ws: &Workspace) {
    let file = "examples/customers/production_seeding.json";
    ws.edit(file, "\"Leopard Lodge\"", "\"Zebra Panel Beaters\"");
    ws.edit(file, "info@leopardlodge.co.za", "workshop@zebrapanel.co.za");
    ws.edit(file, "+27 83 267 6406", "+27 12 345 6789");
}

#[test]
fn an_update_that_changes_everything_a_row_is_known_by_is_a_replacement() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    replace_leopard_lodge(&ws);
    let before = ws.query("SELECT name, email FROM customers ORDER BY id");

    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout
            .contains("Plan: 1 to add, 1 to change (1 replacing a row), 0 to destroy."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "customers[\"leopard-lodge\"] will be replaced: every field it is known by changes"
        ),
        "{}",
        run.stdout
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["summary"]["replace"], 1);
    assert_eq!(json["summary"]["update"], 1);
    let change = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update")
        .unwrap();
    assert_eq!(change["replace"], true);

    // Refused without confirmation, directly and from a saved plan; nothing is written.
    let refused = ws.run(&["apply", "--auto-approve"]).fails();
    assert!(
        refused.stderr.contains("--allow-replace"),
        "{}",
        refused.stderr
    );
    ws.run(&["plan", "--out", "plan.json"]).ok();
    let refused = ws.run(&["apply", "plan.json"]).fails();
    assert!(
        refused.stderr.contains("--allow-replace"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        ws.query("SELECT name, email FROM customers ORDER BY id"),
        before
    );

    // Confirmed, it is written, and the next plan is empty.
    ws.run(&["apply", "--auto-approve", "--allow-replace"]).ok();
    assert!(
        ws.query("SELECT name FROM customers")
            .iter()
            .any(|r| r[0].as_deref() == Some("Zebra Panel Beaters"))
    );
    let again = ws.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}

#[test]
fn replacements_count_as_destroys_for_prevent_destroy() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.edit(
        "specs/customers.yaml",
        "on_missing: keep",
        "on_missing: keep\nprevent_destroy: true",
    );
    replace_leopard_lodge(&ws);
    let run = ws.run(&["plan"]).fails();
    assert!(
        run.stderr
            .contains("would replace 1 row: customers[\"leopard-lodge\"]"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_rename_alone_is_an_update_not_a_replacement() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.edit(
        "examples/customers/production_seeding.json",
        "\"Leopard Lodge\"",
        "\"Leopard Lodge & Spa\"",
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["summary"]["update"], 1);
    assert_eq!(json["summary"]["replace"], 0);
    ws.run(&["apply", "--auto-approve"]).ok();
}

#[test]
fn two_golden_records_with_one_key_are_a_plan_error_naming_both() {
    let ws = Workspace::empty();
    ws.write(
        "specs/firms.yaml",
        "version: 1\nresource: firms\ntarget:\n  table: firms\n  key: email\n  fields:\n    name: { type: text }\n    email: { type: email }\n\
         sources:\n  crm:\n    inline: [{ id: 1, name: Alpha Ltd, email: x@alpha.com }, { id: 2, name: Bravo Ltd, email: b@bravo.com }]\n    id: id\n    fields: { name: name, email: email }\n\
         \x20 sheet:\n    inline: [{ id: 7, name: Zulu Systems, email: X@alpha.com }]\n    id: id\n    fields: { name: name, email: email }\n\
         match:\n  compare:\n    name: { method: name }\n",
    );
    let run = ws.run(&["plan"]).fails();
    assert!(
        run.stderr.contains("`target.key` (email) must be unique"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "email = \"x@alpha.com\": firms[\"alpha-ltd\"] (from crm:1) and firms[\"zulu-systems\"] (from sheet:7)"
        ),
        "{}",
        run.stderr
    );
    assert!(!ws.path("specs/reconcile.db").exists());
}
