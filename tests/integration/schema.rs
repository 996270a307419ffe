//! The table's structure, planned and shown like rows: a field added to the spec is a column
//! added in the plan (and filled by the row changes); tables the tool creates get a unique
//! index on `target.key` and foreign keys for references; an existing table's missing
//! constraints are noted, never altered; a column the spec no longer names is left alone.

use crate::common::{Workspace, on_each_backend};
use crate::multi::{on_folder, seeding};

/// Adds the field `city` to the seed spec: production records get "Pretoria".
fn add_city(ws: &Workspace) {
    ws.edit(
        "specs/customers.yaml",
        "    kind:    { type: text, column: customer_type }\n",
        "    kind:    { type: text, column: customer_type }\n    city:    { type: text }\n",
    );
    ws.edit(
        "specs/customers.yaml",
        "      kind: fields.customer_type\n",
        "      kind: fields.customer_type\n      city: { const: Pretoria }\n",
    );
}

fn count(ws: &Workspace, sql: &str) -> i64 {
    ws.query(sql)[0][0].as_deref().unwrap().parse().unwrap()
}

on_each_backend! {
    fn a_field_added_to_the_spec_is_a_column_added_then_filled(ws) {
        ws.run(&["apply", "--auto-approve"]).ok();
        // A column of someone else's, which the spec never names.
        ws.execute("ALTER TABLE customers ADD COLUMN legacy_code TEXT");
        add_city(&ws);

        let plan = ws.run(&["plan"]).ok();
        let text = &plan.stdout;
        assert!(
            text.contains("Plan: 0 to add, 13 to change, 0 to destroy, 1 column to add."),
            "{text}"
        );
        let column = text.find("1 column to add to table customers:").expect("the section");
        let rows = text.find("13 to change:").expect("the row changes");
        assert!(column < rows, "the columns come before the rows that fill them:\n{text}");
        let sql_type = ws.backend().pick("TEXT", "TEXT", "TEXT");
        assert!(
            text.contains(&format!("+ column city {sql_type} (field city: text), nullable")),
            "{text}"
        );
        assert!(
            text.contains("a column the spec does not name is left alone (never written, never dropped): legacy_code"),
            "{text}"
        );
        assert!(text.contains(r#"+ city    = "Pretoria""#), "{text}");
        assert!(!text.contains("changed outside reconcile"), "{text}");

        // The Markdown plan says the same, before the rows.
        let md = ws.run(&["plan", "--format", "markdown"]).ok().stdout;
        assert!(
            md.contains("**Plan: 0 to add, 13 to change, 0 to destroy, 1 column to add.**"),
            "{md}"
        );
        let column = md
            .find("1 column to add to the table `customers`:")
            .expect("the section");
        assert!(column < md.find("| address | field").expect("the row changes"), "{md}");
        assert!(
            md.contains(&format!("- `column city {sql_type} (field city: text), nullable`")),
            "{md}"
        );
        assert!(md.contains("left alone (never written, never dropped)"), "{md}");

        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["summary"]["add_column"], 1);
        assert_eq!(json["summary"]["update"], 13);
        assert_eq!(json["schema_changes"][0]["action"], "add_column");
        assert_eq!(json["schema_changes"][0]["column"], "city");
        assert_eq!(json["schema_changes"][0]["field_type"], "text");
        assert_eq!(json["schema_changes"][0]["nullable"], true);
        assert_eq!(json["unmanaged_columns"], serde_json::json!(["legacy_code"]));

        let applied = ws.run(&["apply", "--auto-approve"]).ok();
        assert!(
            applied.stdout.contains("Resources: 0 added, 13 changed, 0 destroyed."),
            "{}",
            applied.stdout
        );
        assert_eq!(count(&ws, "SELECT COUNT(city) FROM customers"), 13);
        assert_eq!(
            count(&ws, "SELECT COUNT(*) FROM customers WHERE city = 'Pretoria'"),
            13
        );
        let again = ws.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
        let again = ws.run(&["plan", "--refresh", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);

        // The field leaves the spec again: its column and values stay where they are.
        ws.edit("specs/customers.yaml", "    city:    { type: text }\n", "");
        ws.edit("specs/customers.yaml", "      city: { const: Pretoria }\n", "");
        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["schema_changes"], serde_json::json!([]));
        assert_eq!(
            json["unmanaged_columns"],
            serde_json::json!(["legacy_code", "city"])
        );
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(count(&ws, "SELECT COUNT(city) FROM customers"), 13);
    }
}

on_each_backend! {
    fn a_table_the_tool_creates_has_a_unique_index_on_its_key(ws) {
        let plan = ws.run(&["plan"]).ok();
        assert!(
            plan.stdout.contains(
                "+ table customers will be created (name, contact_person, email, phone, customer_type)\n      with unique index on email (`target.key`)\n"
            ),
            "{}",
            plan.stdout
        );
        ws.run(&["apply", "--auto-approve"]).ok();
        let unique = count(&ws, ws.backend().pick(
            "SELECT COUNT(*) FROM pragma_index_list('customers') il, pragma_index_info(il.name) ii \
             WHERE il.\"unique\" = 1 AND ii.name = 'email'",
            "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename = 'customers' AND indexdef LIKE 'CREATE UNIQUE INDEX % (email)'",
            "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() \
             AND table_name = 'customers' AND column_name = 'email' AND non_unique = 0",
        ));
        assert_eq!(unique, 1);
        let refused = ws
            .try_execute(
                "INSERT INTO customers (name, email) VALUES ('Copy', 'info@leopardlodge.co.za')",
            )
            .expect_err("a second row with one key is refused");
        assert!(
            refused.to_lowercase().contains("unique") || refused.contains("Duplicate"),
            "{refused}"
        );
        // No note about a unique index the table has.
        let again = ws.run(&["plan"]).ok();
        assert!(!again.stdout.contains("Note: table"), "{}", again.stdout);
    }
}

on_each_backend! {
    fn a_reference_is_a_foreign_key_on_a_table_the_tool_creates(ws) {
        seeding(&ws);
        let plan = on_folder(&ws, &["plan"]).ok();
        assert!(
            plan.stdout.contains("      with foreign key customer_id → customers (id)\n"),
            "{}",
            plan.stdout
        );
        let json = on_folder(&ws, &["plan", "--json"]).ok().json();
        let changes = &json["resources"][1]["schema_changes"];
        assert_eq!(changes[0]["action"], "add_unique_index");
        assert_eq!(changes[1]["action"], "add_foreign_key");
        assert_eq!(changes[1]["column"], "customer_id");
        assert_eq!(changes[1]["references"]["table"], "customers");
        assert_eq!(changes[1]["references"]["column"], "id");

        on_folder(&ws, &["apply", "--auto-approve"]).ok();
        let keys = count(&ws, ws.backend().pick(
            "SELECT COUNT(*) FROM pragma_foreign_key_list('branches') \
             WHERE \"from\" = 'customer_id' AND \"table\" = 'customers' AND \"to\" = 'id'",
            "SELECT COUNT(*) FROM information_schema.table_constraints \
             WHERE table_schema = current_schema() AND table_name = 'branches' \
             AND constraint_type = 'FOREIGN KEY'",
            "SELECT COUNT(*) FROM information_schema.key_column_usage \
             WHERE table_schema = DATABASE() AND table_name = 'branches' \
             AND column_name = 'customer_id' AND referenced_table_name = 'customers' \
             AND referenced_column_name = 'id'",
        ));
        assert_eq!(keys, 1);
        let refused = ws
            .try_execute("INSERT INTO branches (name, customer_id) VALUES ('Orphan', 999999)")
            .expect_err("a branch of no customer is refused");
        assert!(refused.to_lowercase().contains("foreign key"), "{refused}");

        // A customer whose branch stays (kept, its record still in the sources) cannot be
        // deleted: the plan says so, after showing itself, and nothing is written.
        ws.edit("examples/seeding/customers.yaml", "on_missing: keep", "on_missing: delete");
        ws.edit(
            "examples/seeding/customers.yaml",
            "    when: { field: kind, equals: private }",
            "    when: { field: kind, equals: private }\n  - name: closed\n    when: { field: name, equals: Leopard Lodge }",
        );
        ws.edit(
            "examples/branches/branches.csv",
            "Leopard Lodge Bush Camp,Leopard Lodge,",
            "Leopard Lodge Bush Camp,Barchefz,",
        );
        let moved = on_folder(&ws, &["plan"]).ok();
        assert!(moved.stdout.contains("1 to destroy"), "{}", moved.stdout);
        let csv = ws.read("examples/branches/branches.csv");
        let kept: Vec<&str> = csv.lines().filter(|l| !l.starts_with("Leopard Lodge")).collect();
        ws.write("examples/branches/branches.csv", &(kept.join("\n") + "\n"));
        ws.edit(
            "examples/seeding/branches.yaml",
            "on_missing: keep",
            "on_missing: keep\nmax_delete: 5",
        );
        let run = on_folder(&ws, &["apply", "--auto-approve"]).fails();
        assert!(run.stdout.contains(r#"- customers["leopard-lodge"]"#), "{}", run.stdout);
        assert!(
            run.stderr.contains(
                r#"branches["leopard-lodge-bush-camp"] refers to customers["leopard-lodge"], which is to be deleted"#
            ),
            "{}",
            run.stderr
        );
        assert_eq!(
            count(&ws, "SELECT COUNT(*) FROM customers WHERE name = 'Leopard Lodge'"),
            1
        );
    }
}

on_each_backend! {
    fn an_existing_table_without_a_unique_key_is_noted_and_left_as_it_is(ws) {
        let b = ws.backend();
        if b == Backend::Sqlite {
            ws.execute(
                "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
                 contact_person TEXT, email TEXT, phone TEXT, customer_type TEXT)",
            );
        } else {
            ws.execute(b.pick(
                "",
                "CREATE TABLE customers (id SERIAL PRIMARY KEY, name TEXT NOT NULL, \
                 contact_person TEXT, email TEXT, phone TEXT, customer_type TEXT)",
                "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, \
                 name VARCHAR(200) NOT NULL, contact_person VARCHAR(200), email VARCHAR(200), \
                 phone VARCHAR(40), customer_type VARCHAR(40))",
            ));
        }
        let note = "Note: table customers has no unique index on email (`target.key`)";
        let plan = ws.run(&["plan"]).ok();
        assert!(plan.stdout.contains(note), "{}", plan.stdout);
        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["schema_notes"][0]["code"], "no_unique_index");
        assert_eq!(json["schema_notes"][0]["column"], "email");
        assert_eq!(json["schema_changes"], serde_json::json!([]));
        ws.run(&["apply", "--auto-approve"]).ok();
        // Never altered: a second row with one email is still accepted.
        ws.execute("INSERT INTO customers (name, email) VALUES ('Copy', 'info@leopardlodge.co.za')");
        // Said again when nothing changes.
        ws.execute("DELETE FROM customers WHERE name = 'Copy'");
        let again = ws.run(&["plan"]).ok();
        assert!(again.stdout.contains("No changes."), "{}", again.stdout);
        assert!(again.stdout.contains(note), "{}", again.stdout);

        ws.execute("CREATE UNIQUE INDEX customers_email ON customers (email)");
        let indexed = ws.run(&["plan", "--refresh"]).ok();
        assert!(!indexed.stdout.contains("Note: table"), "{}", indexed.stdout);
    }
}

#[test]
fn a_saved_plan_adding_a_column_applies_and_is_stale_once_the_column_is_there() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    add_city(&ws);
    ws.run(&["plan", "--out", "plan.json"]).ok();
    ws.run(&["apply", "plan.json"]).ok();
    assert_eq!(count(&ws, "SELECT COUNT(city) FROM customers"), 13);

    // Planned again from the table before the field: someone adds the column in between.
    ws.edit(
        "specs/customers.yaml",
        "      city: { const: Pretoria }\n",
        "      city: { const: Tshwane }\n",
    );
    ws.execute("ALTER TABLE customers DROP COLUMN city");
    let plan = ws.run(&["plan", "--out", "plan.json"]).ok();
    assert!(plan.stdout.contains("1 column to add"), "{}", plan.stdout);
    ws.execute("ALTER TABLE customers ADD COLUMN city TEXT");
    let run = ws.run(&["apply", "plan.json"]).fails();
    assert!(
        run.stderr
            .contains("the plan is stale: column city was added"),
        "{}",
        run.stderr
    );
    assert_eq!(count(&ws, "SELECT COUNT(city) FROM customers"), 0);
}

#[test]
fn a_plan_with_a_column_to_add() {
    let ws = Workspace::empty();
    ws.write(
        "specs/firms.csv",
        "id,name,email,city\n1,Acme,info@acme.example,Durban\n2,Bolt,hi@bolt.example,\n3,Crux,crux@crux.example,Cape Town\n",
    );
    let spec = "version: 1\nresource: firms\ntarget:\n  table: firms\n  key: email\n  fields:\n    \
                name: { type: text, required: true }\n    email: { type: email }\n\
                sources:\n  crm:\n    file: firms.csv\n    id: id\n    fields: { name: name, email: email }\n\
                match:\n  compare:\n    email: { method: exact }\n";
    ws.write("specs/firms.yaml", spec);
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.write(
        "specs/firms.yaml",
        &spec
            .replace(
                "email: { type: email }\n",
                "email: { type: email }\n    city: { type: text }\n",
            )
            .replace("email: email }", "email: email, city: city }"),
    );
    let run = ws.run(&["plan"]).ok();
    insta::assert_snapshot!("plan_column_to_add", run.stdout);
    // A row whose sources also changed a field it already had is updated because the
    // sources changed; one that only gains the new column says so.
    ws.write(
        "specs/firms.csv",
        "id,name,email,city\n1,Acme Ltd,info@acme.example,Durban\n2,Bolt,hi@bolt.example,\n3,Crux,crux@crux.example,Cape Town\n",
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    let reason = |address: &str| {
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .map(|c| c["reason"].clone())
    };
    assert_eq!(
        reason("firms[\"acme\"]"),
        Some("source_changed".into()),
        "{json}"
    );
    assert_eq!(
        reason("firms[\"crux\"]"),
        Some("new_column".into()),
        "{json}"
    );
}

#[test]
fn a_column_renamed_in_the_spec_is_added_and_the_old_one_named() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.edit(
        "specs/customers.yaml",
        "column: contact_person",
        "column: contact_name",
    );
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout
            .contains("+ column contact_name TEXT (field contact: text), nullable"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "Note: column contact_name will be added, and table customers has a column \
             contact_person that the spec does not name: if the field is meant to write \
             contact_person, set `column: contact_person` in the spec instead"
        ),
        "{}",
        run.stdout
    );
    // The values go to the new column; nobody edited the rows.
    assert!(
        !run.stdout.contains("changed outside reconcile"),
        "{}",
        run.stdout
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["schema_notes"][0]["code"], "similar_column");
}

#[test]
fn the_html_report_shows_the_column_to_add() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    add_city(&ws);
    ws.run(&["plan", "--html", "report.html"]).ok();
    let html = ws.read("report.html");
    assert!(
        html.contains("Plan: 0 to add, 13 to change, 0 to destroy, 1 column to add."),
        "{html}"
    );
    assert!(
        html.contains("<b>+</b> column city TEXT (field city: text), nullable"),
        "{html}"
    );
}

on_each_backend! {
    fn two_rows_trading_keys_pass_the_unique_index(ws) {
        ws.run(&["apply", "--auto-approve"]).ok();
        let production = "examples/customers/production_seeding.json";
        let text = ws.read(production);
        ws.write(
            production,
            &text
                .replace("info@leopardlodge.co.za", "SWAP")
                .replace("info@pecanwood.co.za", "info@leopardlodge.co.za")
                .replace("SWAP", "info@pecanwood.co.za"),
        );
        let run = ws.run(&["apply", "--auto-approve"]).ok();
        assert!(run.stdout.contains("0 added, 2 changed"), "{}", run.stdout);
        assert_eq!(
            ws.query(
                "SELECT name, email FROM customers WHERE name IN ('Leopard Lodge', \
                 'Pecanwood Golf Estate') ORDER BY name"
            ),
            vec![
                vec![Some("Leopard Lodge".into()), Some("info@pecanwood.co.za".into())],
                vec![
                    Some("Pecanwood Golf Estate".into()),
                    Some("info@leopardlodge.co.za".into())
                ],
            ]
        );
        let again = ws.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    }
}
