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
    assert!(json["matching"]["note"].as_str().unwrap().contains("field types"));

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
        run.stdout.contains("Note: Matching is off (`match.compare: {}`)"),
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
    assert_eq!(ws.run(&["plan", "--json"]).ok().json()["matching"]["origin"], "off");
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
        run.stdout.contains("Note: Matching is off: the spec has no `match.compare`"),
        "{}",
        run.stdout
    );
}
