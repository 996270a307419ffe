//! The state verbs Terraform users look for: `state list`, `state show`, `state rm`,
//! `state mv`, `import ADDRESS KEY` and `plan --refresh-only` / `apply --refresh-only`, each
//! spawned as the binary, on every backend. Repairs write the state table alone, in one
//! transaction under the table's lock; a refusal writes nothing.

use crate::common::{Workspace, on_each_backend};

/// The state entries of the customers resource, as (address, row key, members), by address.
fn entries(ws: &Workspace) -> Rows {
    ws.query(
        "SELECT address, row_key, members FROM reconcile_state WHERE resource = 'customers' \
         ORDER BY address",
    )
}

/// Rows of a query, as text.
type Rows = Vec<Vec<Option<String>>>;

/// Everything the state commands may touch: the table, the state, the shortcut record.
fn dump(ws: &Workspace) -> (Rows, Rows, usize) {
    let table = ws.query(
        "SELECT CAST(id AS CHAR(20)), name, contact_person, email, phone, customer_type \
         FROM customers ORDER BY id",
    );
    let inputs = ws.query("SELECT resource FROM reconcile_inputs").len();
    (table, entries(ws), inputs)
}

/// The seed workspace, applied.
fn applied(ws: &Workspace) {
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_eq!(entries(ws).len(), 17);
}

on_each_backend! {
    /// `state list` and `state show` read the state and the rows; `state rm` forgets an
    /// entry, keeps its row, and says what the next plan does with it, which the plan then
    /// does and says: the row is adopted again by its key.
    fn list_show_and_rm_then_the_plan_adopts_the_row(ws) {
        applied(&ws);
        let list = ws.run(&["state", "list"]).ok().stdout;
        assert_eq!(list.lines().count(), 17, "{list}");
        assert!(
            list.lines().any(|l| l.starts_with(r#"customers["barchefz"]"#)
                && l.contains("row 11")
                && l.ends_with("production:13, import:67f800316c5f")),
            "{list}"
        );
        let json = ws.run(&["state", "list", "--json"]).ok().json();
        let listed = json["resources"][0]["entries"].as_array().unwrap();
        assert_eq!(listed.len(), 17);
        assert_eq!(listed[0]["address"], r#"customers["barchefz"]"#);
        assert!(listed[0].get("row").is_none(), "list reads no row: {json}");

        let show = ws.run(&["state", "show", r#"customers["barchefz"]"#]).ok().stdout;
        assert!(show.contains("members = production:13, import:67f800316c5f"), "{show}");
        assert!(show.contains("as reconcile last wrote it"), "{show}");
        assert!(show.contains(r#"name    = "Barchefz""#), "{show}");
        // The bare key reads as the one spec's address, as `explain` reads it.
        let json = ws.run(&["state", "show", "barchefz", "--json"]).ok().json();
        let entry = &json["resources"][0]["entries"][0];
        assert_eq!(entry["row_status"], "as_written");
        assert_eq!(entry["row"]["email"], "orders@barchefz.co.za");

        let before = dump(&ws);
        let unknown = ws.run(&["state", "rm", r#"customers["barchefz"]"#, "casa-belle"]).fails();
        assert!(
            unknown.stderr.contains(r#"the state has no entry at customers["casa-belle"]"#)
                && unknown.stderr.contains(r#"did you mean customers["casa-bella"]?"#),
            "{}",
            unknown.stderr
        );
        assert_eq!(before, dump(&ws), "a refused rm writes nothing");

        let rm = ws.run(&["state", "rm", r#"customers["barchefz"]"#]).ok().stdout;
        assert!(rm.contains("Removed 1 entry from the state of customers"), "{rm}");
        assert!(rm.contains(r#"- customers["barchefz"] (row 11; production:13"#), "{rm}");
        assert!(
            rm.contains(r#"a record with email = "orders@barchefz.co.za" adopts row 11 again"#),
            "{rm}"
        );
        let (table, state, inputs) = dump(&ws);
        assert_eq!(table, before.0, "the table is not written");
        assert_eq!(state.len(), 16);
        assert!(state.iter().all(|e| e[0].as_deref() != Some("barchefz")));
        assert_eq!(inputs, 0, "the shortcut record is gone: the next plan reads everything");

        let plan = ws.run(&["plan"]).ok().stdout;
        assert!(
            plan.contains(r#"# customers["barchefz"] will be adopted (no field changes)"#)
                && plan.contains("an existing row with the same key; it becomes managed"),
            "{plan}"
        );
        assert!(plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{plan}");
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(entries(&ws).len(), 17, "the row is managed again");
    }
}

on_each_backend! {
    /// `state mv` gives an entry a free address of its resource, and the next plan has
    /// nothing to do; a taken, invalid or foreign address is refused and nothing is written.
    fn mv_then_the_plan_is_empty(ws) {
        applied(&ws);
        let before = dump(&ws);
        for (to, says) in [
            (r#"customers["leopard-lodge"]"#, r#"customers["leopard-lodge"] is already in the state, managing row 1"#),
            (r#"branches["casa"]"#, "names resource `branches`, and the spec's resource is `customers`"),
            ("#5", "its key starts with `#`"),
            ("casa-bella", "are the same address"),
        ] {
            let run = ws.run(&["state", "mv", "casa-bella", to]).fails();
            assert!(run.stderr.contains(says), "{to}: {}", run.stderr);
        }
        let run = ws.run(&["state", "mv", "casa-belle", "casa"]).fails();
        assert!(run.stderr.contains(r#"did you mean customers["casa-bella"]?"#), "{}", run.stderr);
        assert_eq!(before, dump(&ws), "refusals write nothing");

        let mv = ws
            .run(&["state", "mv", r#"customers["casa-bella"]"#, r#"customers["casa-bella-pty"]"#])
            .ok()
            .stdout;
        assert_eq!(
            mv,
            "Moved customers[\"casa-bella\"] to customers[\"casa-bella-pty\"] (row 5; \
             production:6, import:7e09485922bb).\n"
        );
        let state = entries(&ws);
        assert!(state.iter().any(|e| e
            == &[Some("casa-bella-pty".to_string()), Some("5".into()), Some(r#"["production:6","import:7e09485922bb"]"#.into())]),
            "{state:?}");
        assert!(state.iter().all(|e| e[0].as_deref() != Some("casa-bella")));
        let plan = ws.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
        assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
        let json = ws.run(&["plan", "--json"]).ok().json();
        let addresses: Vec<&str> = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["address"].as_str().unwrap())
            .collect();
        assert!(addresses.contains(&r#"customers["casa-bella-pty"]"#), "{json}");
    }
}

on_each_backend! {
    /// A row the plan cannot find (its record would be created beside it) is bound to the
    /// record by `import`: the next plan updates it instead of creating a second row.
    fn import_then_the_plan_updates_instead_of_creating(ws) {
        applied(&ws);
        ws.run(&["state", "rm", "venue"]).ok();
        // Edited outside reconcile beyond what the key or the matcher can recognise.
        ws.execute(
            "UPDATE customers SET name = 'Zzz Old', email = 'old@elsewhere.example', \
             phone = '+27110000000' WHERE id = 17",
        );
        let plan = ws.run(&["plan"]).ok().stdout;
        assert!(plan.contains(r#"# customers["venue"] will be created"#), "{plan}");
        let before = dump(&ws);
        for (args, says) in [
            (["venue", "nobody@elsewhere.example"], "has no row whose email or primary key (id) is \"nobody@elsewhere.example\""),
            (["venue", "11"], r#"row 11 of table "customers" is already managed, at customers["barchefz"]"#),
            (["barchefz", "17"], r#"customers["barchefz"] is already in the state, managing row 11"#),
            (["venu", "17"], r#"the spec declares no golden record at customers["venu"]"#),
        ] {
            let run = ws.run(&["import", args[0], args[1]]).fails();
            assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        }
        let run = ws.run(&["import", "venu", "17"]).fails();
        assert!(run.stderr.contains(r#"did you mean customers["venue"]?"#), "{}", run.stderr);
        assert_eq!(before, dump(&ws), "refusals write nothing");

        // By the `target.key` value, read as the field reads source values (lower-cased).
        let imported = ws.run(&["import", r#"customers["venue"]"#, "OLD@elsewhere.example"]).ok().stdout;
        assert!(
            imported.contains(
                r#"Imported row 17 of table customers (email = "old@elsewhere.example") as customers["venue"]: import:0cbb7849d863."#
            ),
            "{imported}"
        );
        // Nothing the row is known by is left: the plan says it replaces them, as for any
        // managed row, and apply asks for --allow-replace.
        assert!(
            imported.contains("The next plan changes its name, email, phone: every field the row is known by"),
            "{imported}"
        );
        assert_eq!(dump(&ws).0, before.0, "import writes no row");

        let plan = ws.run(&["plan"]).ok().stdout;
        assert!(plan.contains(r#"# customers["venue"] will be replaced"#), "{plan}");
        assert!(!plan.contains("will be created"), "{plan}");
        assert!(plan.contains("Plan: 0 to add, 1 to change (1 replacing a row), 0 to destroy."), "{plan}");
        ws.run(&["apply", "--auto-approve", "--allow-replace"]).ok();
        assert_eq!(ws.query("SELECT id FROM customers").len(), 17, "no second row");
        let plan = ws.run(&["plan"]).ok().stdout;
        assert!(plan.contains("No changes."), "{plan}");

        // By primary key, a row that already holds what the spec says: nothing to change.
        ws.run(&["state", "rm", "venue"]).ok();
        let imported = ws.run(&["import", "venue", "17"]).ok().stdout;
        assert!(imported.contains("Imported row 17 of table customers as"), "{imported}");
        assert!(imported.contains("The next plan finds nothing to change"), "{imported}");
        let plan = ws.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "{}", plan.stdout);

        // A row its record would adopt anyway may be imported too: an update of what differs.
        ws.run(&["state", "rm", "venue"]).ok();
        ws.execute("UPDATE customers SET contact_person = 'Someone Else' WHERE id = 17");
        let imported = ws.run(&["import", "venue", "events@venue.co.za"]).ok().stdout;
        assert!(imported.contains("The next plan updates its contact to what the spec says"), "{imported}");
        let plan = ws.run(&["plan"]).ok().stdout;
        assert!(plan.contains(r#"# customers["venue"] will be updated in-place"#), "{plan}");
        assert!(plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{plan}");
    }
}

on_each_backend! {
    /// A row deleted and a row changed outside reconcile: the refresh-only plan says what
    /// the state takes in, apply asks and writes only the state; the table keeps what it
    /// holds, and the next full plan recreates and updates as for any difference.
    fn refresh_only_takes_drift_into_the_state(ws) {
        applied(&ws);
        let quiet = ws.run(&["plan", "--refresh-only", "--detailed-exitcode"]).ok().stdout;
        assert!(quiet.contains("No changes. The state matches table customers (17 entries)"), "{quiet}");

        ws.execute("DELETE FROM customers WHERE email = 'events@venue.co.za'");
        ws.execute("UPDATE customers SET name = 'Barchefz Renamed' WHERE id = 11");
        let run = ws.run(&["plan", "--refresh-only", "--detailed-exitcode"]);
        assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
        let plan = run.stdout;
        assert!(plan.contains("state only; the table is not written"), "{plan}");
        assert!(plan.contains(r#"- customers["venue"] (row 17) will be dropped from the state"#), "{plan}");
        assert!(plan.contains(r#"~ customers["barchefz"] (row 11) will take the row as it is now"#), "{plan}");
        assert!(plan.contains("1 to drop, 1 to refresh, 15 unchanged"), "{plan}");
        let json = ws.run(&["plan", "--refresh-only", "--json"]).ok().json();
        assert_eq!(json["refresh_only"], true);
        assert_eq!(json["summary"]["drop"], 1);
        assert_eq!(json["summary"]["refresh"], 1);
        assert_eq!(json["summary"]["unchanged"], 15);

        let before = dump(&ws);
        let run = ws.run(&["apply", "--refresh-only"]).fails();
        assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
        assert_eq!(before, dump(&ws), "nothing written without approval");

        let run = ws.run(&["apply", "--refresh-only", "--auto-approve"]).ok();
        assert!(
            run.stdout.contains("Apply complete! State: 1 dropped, 1 refreshed; the table was not written."),
            "{}",
            run.stdout
        );
        let (table, state, inputs) = dump(&ws);
        assert_eq!(table, before.0, "the table is not written");
        assert_eq!(state.len(), 16);
        assert_eq!(inputs, 0);
        let again = ws.run(&["plan", "--refresh-only", "--detailed-exitcode"]).ok().stdout;
        assert!(again.contains("No changes."), "{again}");
        let show = ws.run(&["state", "show", "barchefz"]).ok().stdout;
        assert!(show.contains("as reconcile last wrote it"), "{show}");

        // The next plan: the record is created anew (no longer "deleted outside reconcile"),
        // and the renamed row is brought back to the spec, no longer reported as drift.
        let plan = ws.run(&["plan"]).ok().stdout;
        assert!(plan.contains("Plan: 1 to add, 1 to change, 0 to destroy."), "{plan}");
        assert!(!plan.contains("deleted outside reconcile"), "{plan}");
        assert!(!plan.contains("changed outside reconcile"), "{plan}");
        assert!(plan.contains(r#"~ name    = "Barchefz Renamed" -> "Barchefz""#), "{plan}");
    }
}

/// The text of `state list` and `state show`.
#[test]
fn state_list_and_show_text() {
    let ws = Workspace::seed();
    applied(&ws);
    let list = ws.run(&["state", "list"]).ok().stdout;
    insta::assert_snapshot!("state_list", list);
    ws.execute("UPDATE customers SET contact_person = 'Someone Else' WHERE id = 11");
    let show = ws
        .run(&["state", "show", r#"customers["barchefz"]"#])
        .ok()
        .stdout;
    insta::assert_snapshot!("state_show", show);
    ws.execute("DELETE FROM customers WHERE id = 11");
    let gone = ws.run(&["state", "show", "barchefz"]).ok().stdout;
    assert!(gone.contains("holds no row 11 any more"), "{gone}");
}

/// With a folder of specs, addresses name their resource, and `state list RESOURCE` lists
/// one resource.
#[test]
fn a_folder_lists_every_resource_and_addresses_name_theirs() {
    let ws = Workspace::seed();
    crate::multi::seeding(&ws);
    let on = |args: &[&str]| crate::multi::on_folder(&ws, args);
    on(&["apply", "--auto-approve"]).ok();
    let all = on(&["state", "list"]).ok().stdout;
    assert!(
        all.contains(r#"customers["barchefz"]"#) && all.contains("branches["),
        "{all}"
    );
    let branches = on(&["state", "list", "branches"]).ok().stdout;
    assert!(
        !branches.contains("customers[") && branches.contains("branches["),
        "{branches}"
    );
    let json = on(&["state", "list", "--json"]).ok().json();
    assert_eq!(json["resources"].as_array().unwrap().len(), 2);

    let run = on(&["state", "list", "branchs"]).fails();
    assert!(
        run.stderr.contains("did you mean `branches`?"),
        "{}",
        run.stderr
    );
    let run = on(&["state", "show", "barchefz"]).fails();
    assert!(run.stderr.contains("names no resource"), "{}", run.stderr);
    let run = on(&["state", "show", r#"customer["barchefz"]"#]).fails();
    assert!(
        run.stderr.contains("did you mean `customers`?"),
        "{}",
        run.stderr
    );
    on(&["state", "show", r#"customers["barchefz"]"#]).ok();
    let quiet = on(&["plan", "--refresh-only"]).ok().stdout;
    assert!(quiet.contains("No changes."), "{quiet}");
}

/// A repair waits for no one: while another writer holds the table's lock it fails at once
/// and writes nothing.
#[test]
fn a_repair_under_another_writers_lock_fails_and_writes_nothing() {
    let ws = Workspace::seed();
    applied(&ws);
    ws.execute("DELETE FROM customers WHERE id = 17");
    let before = dump(&ws);
    let (release, holder) = crate::safety::hold_sqlite_lock(&ws);
    for args in [
        &["state", "rm", "barchefz"][..],
        &["state", "mv", "barchefz", "barchefz-2"],
        &["apply", "--refresh-only", "--auto-approve"],
    ] {
        let run = ws.run(args).fails();
        assert!(
            run.stderr.contains("table customers is locked"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("reconcile"), "{}", run.stderr);
    }
    drop(release);
    holder.join().unwrap();
    assert_eq!(before, dump(&ws));
}
