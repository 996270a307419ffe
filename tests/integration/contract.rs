//! The JSON plan is a stable contract: its published schema matches what the tool prints,
//! every plan validates against it, and a consumer's typed structs (written from the
//! contract, not from the tool's types) decode a golden plan.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::common::Workspace;

fn published() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the schema is committed"))
        .expect("the schema is JSON")
}

#[test]
fn the_published_plan_schema_is_the_one_the_tool_prints() {
    let ws = Workspace::seed();
    let printed: serde_json::Value =
        serde_json::from_str(&ws.run(&["schema", "--plan"]).ok().stdout).expect("JSON");
    assert!(
        printed == published(),
        "schemas/plan.schema.json is out of date: run \
         `cargo run -- schema --plan > schemas/plan.schema.json`"
    );
}

/// Every error of `instance` against the published schema.
fn violations(instance: &serde_json::Value) -> Vec<String> {
    // Checked against the branch that applies, so that errors name the field.
    let mut schema = published();
    let branch = if instance.get("applied").is_some() {
        "#/$defs/JsonApply"
    } else if instance.get("resources").is_some() {
        "#/$defs/JsonPlans"
    } else {
        "#/$defs/JsonPlan"
    };
    schema.as_object_mut().unwrap().remove("anyOf");
    schema["$ref"] = branch.into();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn plans_of_one_spec_and_of_a_folder_fit_the_schema() {
    let ws = Workspace::seed();
    let one = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(violations(&one), Vec::<String>::new());
    // After an apply and an edit: updates with `changed`, a no-change shortcut later.
    ws.run(&["apply", "--auto-approve"]).ok();
    let again = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(violations(&again), Vec::<String>::new());
    assert!(
        again["shortcut"].is_object(),
        "the no-change plan is the shortcut's"
    );

    let folder = Workspace::seed();
    crate::multi::seeding(&folder);
    let many = crate::multi::on_folder(&folder, &["plan", "--json"])
        .ok()
        .json();
    assert_eq!(many["resources"].as_array().map(Vec::len), Some(2));
    assert_eq!(violations(&many), Vec::<String>::new());

    // `apply --json`: the plan and what was written, one spec's and a folder's.
    let applied = Workspace::seed();
    let one = applied
        .run(&["apply", "--json", "--auto-approve"])
        .ok()
        .json();
    assert_eq!(one["applied"]["created"], 17);
    assert_eq!(one["plan"]["summary"]["create"], 17);
    assert_eq!(violations(&one), Vec::<String>::new());
    let many = crate::multi::on_folder(&folder, &["apply", "--json", "--auto-approve"])
        .ok()
        .json();
    assert_eq!(many["applied"]["created"], 22);
    assert_eq!(many["plan"]["resources"].as_array().map(Vec::len), Some(2));
    assert_eq!(violations(&many), Vec::<String>::new());
}

/// The contract as a consumer writes it: the documented fields, nothing of the tool's own.
#[derive(Debug, Deserialize)]
struct PlanContract {
    format_version: String,
    summary: SummaryContract,
    changes: Vec<ChangeContract>,
    excluded: Vec<ExcludedContract>,
    review: Vec<ReviewContract>,
    fingerprint: String,
}

#[derive(Debug, Deserialize)]
struct SummaryContract {
    create: u64,
    update: u64,
    delete: u64,
    no_op: u64,
    excluded: u64,
    review: u64,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum ActionContract {
    Create,
    Update,
    Delete,
    NoOp,
}

#[derive(Debug, Deserialize)]
struct ChangeContract {
    address: String,
    action: ActionContract,
    before: Option<BTreeMap<String, serde_json::Value>>,
    after: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    changed: Option<Vec<String>>,
    provenance: BTreeMap<String, String>,
    sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ExcludedContract {
    source: String,
    record: String,
    rule: String,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct ReviewContract {
    left: String,
    right: String,
    score: f64,
}

#[test]
fn a_golden_plan_decodes_into_the_documented_contract() {
    let ws = Workspace::seed();
    let text = ws.run(&["plan", "--json"]).ok().stdout;
    let plan: PlanContract = serde_json::from_str(&text).expect("the contract decodes");
    assert_eq!(plan.format_version, "1");
    let s = &plan.summary;
    assert_eq!(
        (s.create, s.update, s.delete, s.no_op, s.excluded, s.review),
        (17, 0, 0, 0, 3, 0)
    );
    assert!(!plan.fingerprint.is_empty());
    assert!(plan.review.is_empty());
    assert_eq!(plan.excluded.len(), 3);
    assert!(plan.excluded.iter().all(|e| e.source == "production"
        && e.rule == "private customers"
        && !e.record.is_empty()));
    let maltos = plan
        .changes
        .iter()
        .find(|c| c.address == "customers[\"maltos-sun-city\"]")
        .expect("Maltos Sun City is planned");
    assert_eq!(maltos.action, ActionContract::Create);
    assert!(maltos.before.is_none());
    assert_eq!(
        maltos.after.as_ref().unwrap()["name"],
        serde_json::json!("Maltos Sun City")
    );
    assert_eq!(maltos.provenance["name"], maltos.sources[0]);
    assert_eq!(maltos.sources.len(), 2, "production and the import list");
    assert!(maltos.changed.is_none(), "a create lists no changed fields");
}
