//! The no-change shortcut: after an apply, a plan whose spec and sources are unchanged and
//! whose table still holds what the apply wrote says "No changes" without reading the
//! sources. Anything that a full plan would act on takes the full path, and `--refresh`
//! always does; both agree.

use crate::common::{Workspace, on_each_backend};

const PRODUCTION: &str = "examples/customers/production_seeding.json";
const SPEC: &str = "specs/customers.yaml";
/// The line a short-cut plan adds under "No changes.".
const QUICK: &str = "unchanged since the last apply";

/// A plan that took the shortcut: no changes, and it says why it was quick.
fn assert_quick(ws: &Workspace) {
    let run = ws.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
    assert!(run.stdout.contains(QUICK), "{}", run.stdout);
}

/// A plan that read the sources.
fn full_plan(ws: &Workspace) -> String {
    let run = ws.run(&["plan"]).ok();
    assert!(!run.stdout.contains(QUICK), "{}", run.stdout);
    run.stdout
}

/// The JSON plan without what only the shortcut (or only resolving) can know, with changes in
/// address order: what both paths must agree on.
fn comparable(mut plan: serde_json::Value) -> serde_json::Value {
    let obj = plan.as_object_mut().unwrap();
    obj.remove("shortcut");
    let changes = obj["changes"].as_array_mut().unwrap();
    for c in changes.iter_mut() {
        let c = c.as_object_mut().unwrap();
        // Where each value came from, what names each record and which values lost are
        // known only by reading the sources.
        for key in ["provenance", "source_names", "conflicts"] {
            c.remove(key);
        }
    }
    changes.sort_by(|a, b| a["address"].as_str().cmp(&b["address"].as_str()));
    plan
}

on_each_backend! {
    /// After an apply the plan is quick, and says so; `--refresh` reads the sources and
    /// finds the same plan.
    fn quick_after_apply_and_same_as_refresh(ws) {
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_quick(&ws);
        let quick = ws.run(&["plan", "--json"]).ok().json();
        assert!(quick["shortcut"]["applied_at"].is_string(), "{quick}");
        assert_eq!(quick["summary"]["no_op"], 17, "{quick}");
        assert_eq!(quick["summary"]["excluded"], 3, "{quick}");
        let full = ws.run(&["plan", "--json", "--refresh"]).ok().json();
        assert!(full.get("shortcut").is_none(), "{full}");
        assert_eq!(comparable(quick), comparable(full));
        let refreshed = ws.run(&["plan", "--refresh"]).ok().stdout;
        assert!(refreshed.contains("No changes.") && !refreshed.contains(QUICK), "{refreshed}");
        // `apply` plans the same way: nothing to do, nothing written.
        let run = ws.run(&["apply", "--auto-approve"]).ok();
        assert!(run.stdout.contains(QUICK), "{}", run.stdout);
        assert!(!run.stdout.contains("Apply complete"), "{}", run.stdout);
    }
}

on_each_backend! {
    /// An edited source or spec, a row changed or deleted outside reconcile: each is seen,
    /// and once applied the plan is quick again.
    fn every_change_takes_the_full_path(ws) {
        ws.run(&["apply", "--auto-approve"]).ok();

        ws.edit(PRODUCTION, "suncity@maltos.co.za", "orders@maltos.co.za");
        let out = full_plan(&ws);
        assert!(out.contains("1 to change"), "{out}");
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_quick(&ws);

        // A comment changes nothing in the plan, but the spec is not what was applied.
        ws.edit(SPEC, "version: 1", "version: 1\n# reviewed");
        let out = full_plan(&ws);
        assert!(out.contains("No changes."), "{out}");
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_quick(&ws);

        ws.execute("UPDATE customers SET name = 'Renamed by hand' WHERE email = 'orders@maltos.co.za'");
        let out = full_plan(&ws);
        assert!(out.contains("changed outside reconcile"), "{out}");
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_quick(&ws);

        ws.execute("DELETE FROM customers WHERE email = 'orders@maltos.co.za'");
        let out = full_plan(&ws);
        assert!(out.contains("1 to add"), "{out}");
        assert!(out.contains("deleted outside reconcile"), "{out}");
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_quick(&ws);

        // Back to the bytes of an earlier apply: the table no longer holds what that apply
        // wrote, so the plan is full and shows the change.
        ws.edit(PRODUCTION, "orders@maltos.co.za", "suncity@maltos.co.za");
        let out = full_plan(&ws);
        assert!(out.contains("1 to change"), "{out}");
    }
}

on_each_backend! {
    /// With `owns_table`, a row added outside reconcile is the spec's business: the plan reads
    /// the sources and deletes it.
    fn owned_table_sees_a_new_unmanaged_row(ws) {
        ws.edit(SPEC, "  key: email", "  owns_table: true\n  key: email");
        ws.edit(SPEC, "on_missing: keep", "on_missing: delete");
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_quick(&ws);
        ws.execute("INSERT INTO customers (name, email) VALUES ('Hand Made', 'hand@made.example')");
        let out = full_plan(&ws);
        assert!(out.contains("1 to destroy"), "{out}");
    }
}

#[test]
fn kept_rows_excluded_and_review_are_shown_as_a_full_plan_shows_them() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    // Drop one production record: its row is kept (`on_missing: keep`).
    let mut doc: serde_json::Value = serde_json::from_str(&ws.read(PRODUCTION)).unwrap();
    doc.as_array_mut().unwrap().retain(|r| r["pk"] != 2);
    ws.write(PRODUCTION, &serde_json::to_string_pretty(&doc).unwrap());
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_quick(&ws);
    let quick = ws.run(&["plan"]).ok().stdout;
    let full = ws.run(&["plan", "--refresh"]).ok().stdout;
    assert!(quick.contains("Kept (1)"), "{quick}");
    let without_note: String = quick
        .lines()
        .filter(|l| !l.contains(QUICK))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without_note, full);
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(
        comparable(json.clone()),
        comparable(ws.run(&["plan", "--json", "--refresh"]).ok().json())
    );

    // A kept row is no longer the sources' business: editing it changes no plan.
    let key = json["kept"][0]["row_key"].as_str().unwrap().to_string();
    ws.execute(&format!(
        "UPDATE customers SET name = 'Edited by hand' WHERE id = {key}"
    ));
    assert_quick(&ws);
    // Deleted, it leaves the list of kept rows, which the full plan shows.
    ws.execute(&format!("DELETE FROM customers WHERE id = {key}"));
    let out = full_plan(&ws);
    assert!(!out.contains("Kept"), "{out}");
}

#[test]
fn a_changed_ignored_field_reads_the_sources() {
    let ws = Workspace::seed();
    ws.edit(
        SPEC,
        "contact: { type: text, column: contact_person }",
        "contact: { type: text, column: contact_person, ignore_changes: true }",
    );
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_quick(&ws);
    ws.execute("UPDATE customers SET contact_person = 'Someone' WHERE name = 'Revue Bar'");
    let out = full_plan(&ws);
    assert!(out.contains("No changes."), "{out}");
    // Apply records the row as it is now; then the plan is quick again.
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_quick(&ws);
}

#[test]
fn an_apply_without_changes_records_for_the_next_plan() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    // As in a database last applied by a version without the shortcut.
    ws.execute("DROP TABLE reconcile_inputs");
    full_plan(&ws);
    let run = ws.run(&["apply", "--auto-approve", "--refresh"]).ok();
    assert!(!run.stdout.contains("Apply complete"), "{}", run.stdout);
    assert_quick(&ws);
    let recorded = ws.query("SELECT applied_at FROM reconcile_inputs");
    // Nothing more to record: an apply that reads the sources again writes nothing.
    ws.run(&["apply", "--auto-approve", "--refresh"]).ok();
    assert_eq!(
        ws.query("SELECT applied_at FROM reconcile_inputs"),
        recorded
    );
}

#[test]
fn an_apply_that_writes_a_report_records_for_the_next_plan_too() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.execute("DROP TABLE reconcile_inputs");
    // `--html` resolves the sources for its report, and the apply still records them.
    let run = ws
        .run(&["apply", "--auto-approve", "--html", "report.html"])
        .ok();
    assert!(!run.stdout.contains("Apply complete"), "{}", run.stdout);
    assert!(ws.read("report.html").contains("<html"));
    assert_quick(&ws);
}

#[test]
fn other_options_read_the_sources() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    // `--prune` may delete what a plan without it keeps.
    let run = ws.run(&["plan", "--prune"]).ok();
    assert!(!run.stdout.contains(QUICK), "{}", run.stdout);
    ws.run(&["apply", "--auto-approve", "--prune"]).ok();
    let run = ws.run(&["plan", "--prune"]).ok();
    assert!(run.stdout.contains(QUICK), "{}", run.stdout);
    full_plan(&ws);
}

#[test]
fn saved_plans_and_targets_read_the_sources() {
    let ws = Workspace::seed();
    let out = ws.path("plan.json");
    let out = out.to_str().unwrap();
    let run = ws.run(&["plan", "--out", out]).ok();
    assert!(!run.stdout.contains(QUICK), "{}", run.stdout);
    ws.run(&["apply", out]).ok();
    // The saved plan carried what it was made from.
    assert_quick(&ws);
    ws.run(&["plan", "--out", out]).ok();
    let run = ws.run(&["plan", "--target", "customers"]).ok();
    assert!(!run.stdout.contains(QUICK), "{}", run.stdout);

    // A targeted apply leaves no record: the next plan reads the sources.
    ws.edit(PRODUCTION, "suncity@maltos.co.za", "orders@maltos.co.za");
    ws.run(&["apply", "--auto-approve", "--target", "customers"])
        .ok();
    full_plan(&ws);
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_quick(&ws);
}

#[test]
fn an_environment_variable_in_the_spec_is_an_input() {
    let ws = Workspace::seed();
    ws.edit(
        SPEC,
        "equals: private",
        "equals: \"${RECONCILE_TEST_EXCLUDED:-private}\"",
    );
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_quick(&ws);
    let run = ws
        .run_with_env(&["plan"], &[("RECONCILE_TEST_EXCLUDED", Some("nobody"))])
        .ok();
    assert!(!run.stdout.contains(QUICK), "{}", run.stdout);
    assert!(run.stdout.contains("3 to add"), "{}", run.stdout);
}

/// Whether the table and state, summed without keeping a row, are what the last apply
/// recorded it left: the check a no-change plan makes first.
fn sums_check(ws: &Workspace) -> Result<(), reconcile::plan::shortcut::Miss> {
    use reconcile::db::{Database, inputs, read};
    use reconcile::plan::shortcut;
    let spec = reconcile::spec::load::load(&ws.path(SPEC)).unwrap();
    let fingerprint = shortcut::inputs_fingerprint(&spec, Default::default()).unwrap();
    let runtime = reconcile::operation::runtime().unwrap();
    runtime.block_on(async {
        let db = Database::open_read(&ws.url()).await.unwrap();
        let record = inputs::read(&db, &spec.resource).await.unwrap();
        let current = read::read_keeping(&db, &spec, None, read::Keep::Sums)
            .await
            .unwrap();
        db.close().await;
        let record = record.ok_or(shortcut::Miss::NoRecord)?;
        shortcut::plan_from_sums(&spec, &fingerprint, &record, &current).map(|_| ())
    })
}

on_each_backend! {
    /// Every apply records what the table's rows sum to once it is done, whatever it wrote:
    /// the next plan then checks the sums alone. A row that the sums see changed (even one
    /// the spec does not manage) sends the plan to the row-by-row check, which tells.
    fn an_apply_records_what_its_rows_sum_to(ws) {
        use reconcile::plan::shortcut::Miss;
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(sums_check(&ws), Ok(()));
        // Updates.
        ws.edit(PRODUCTION, "suncity@maltos.co.za", "orders@maltos.co.za");
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(sums_check(&ws), Ok(()));
        // A record gone from the sources: its row is kept.
        let mut doc: serde_json::Value = serde_json::from_str(&ws.read(PRODUCTION)).unwrap();
        doc.as_array_mut().unwrap().retain(|r| r["pk"] != 2);
        ws.write(PRODUCTION, &serde_json::to_string_pretty(&doc).unwrap());
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(sums_check(&ws), Ok(()));
        assert_quick(&ws);

        // A row the spec does not manage changes the sums, not the plan.
        ws.execute("INSERT INTO customers (name, email) VALUES ('Hand Made', 'hand@made.example')");
        assert_eq!(sums_check(&ws), Err(Miss::RowChanged));
        assert_quick(&ws);
        ws.execute("DELETE FROM customers WHERE email = 'hand@made.example'");
        assert_eq!(sums_check(&ws), Ok(()));

        // A managed row edited by hand: the sums differ, and the plan shows the drift.
        ws.execute("UPDATE customers SET name = 'Renamed by hand' WHERE email = 'orders@maltos.co.za'");
        assert_eq!(sums_check(&ws), Err(Miss::RowChanged));
        assert!(full_plan(&ws).contains("changed outside reconcile"));
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(sums_check(&ws), Ok(()));

        // A state entry edited by hand.
        ws.execute("UPDATE reconcile_state SET hash = 'x' WHERE address = (SELECT MIN(address) FROM reconcile_state)");
        assert_eq!(sums_check(&ws), Err(Miss::StateChanged));
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(sums_check(&ws), Ok(()));

        // An apply that writes nothing but the record, and one from a saved plan.
        ws.execute("DROP TABLE reconcile_inputs");
        assert_eq!(sums_check(&ws), Err(Miss::NoRecord));
        ws.run(&["apply", "--auto-approve", "--refresh"]).ok();
        assert_eq!(sums_check(&ws), Ok(()));
        ws.edit(PRODUCTION, "orders@maltos.co.za", "suncity@maltos.co.za");
        let out = ws.path("plan.json");
        let out = out.to_str().unwrap();
        ws.run(&["plan", "--out", out]).ok();
        ws.run(&["apply", out]).ok();
        assert_eq!(sums_check(&ws), Ok(()));
        assert_quick(&ws);
    }
}

/// A database that changes what is written (here a trigger) leaves rows that do not hold
/// what their entries say: the apply records no sum, and the next plan checks row by row,
/// which sees the difference.
#[test]
fn rows_that_read_back_otherwise_record_no_sum() {
    use reconcile::plan::shortcut::Miss;
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_eq!(sums_check(&ws), Ok(()));
    ws.execute(
        "CREATE TRIGGER shout AFTER UPDATE OF name ON customers BEGIN \
         UPDATE customers SET name = upper(NEW.name) WHERE id = NEW.id; END",
    );
    ws.edit(PRODUCTION, "Maltos Sun City", "Maltos Sun City Centre");
    let out = ws.run(&["apply", "--auto-approve"]).ok().stdout;
    assert!(out.contains("1 changed"), "{out}");
    assert_eq!(sums_check(&ws), Err(Miss::RowChanged));
    let out = full_plan(&ws);
    assert!(out.contains("changed outside reconcile"), "{out}");
}
