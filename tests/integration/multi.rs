//! A folder of specs planned and applied together: customers and their branches, where each
//! branch points to its customer by name and the table receives the customer's key.

use crate::common::{Workspace, on_each_backend};

/// The seed workspace plus the shipped seeding folder and the branches source.
pub(crate) fn seeding(ws: &Workspace) {
    for rel in [
        "examples/seeding/customers.yaml",
        "examples/seeding/branches.yaml",
        "examples/branches/branches.csv",
    ] {
        ws.write(
            rel,
            &std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
                .unwrap(),
        );
    }
}

/// Runs a command on the seeding folder against the workspace database.
pub(crate) fn on_folder(ws: &Workspace, args: &[&str]) -> crate::common::Run {
    let url = ws.url();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-f", "examples/seeding", "--database", &url]);
    ws.run(&all)
}

on_each_backend! {
    fn folder_apply_writes_customers_first_and_branches_with_their_keys(ws) {
        seeding(&ws);
        let plan = on_folder(&ws, &["plan"]).ok();
        let customers = plan.stdout.find("# customers").expect("customers planned");
        let branches = plan.stdout.find("# branches").expect("branches planned");
        assert!(customers < branches, "{}", plan.stdout);
        assert!(
            plan.stdout.contains(r#"+ customer = "customers[\"barchefz\"]""#),
            "{}",
            plan.stdout
        );
        assert!(
            plan.stdout
                .contains("Plan (all resources): 22 to add, 0 to change, 0 to destroy, in 2 resources."),
            "{}",
            plan.stdout
        );

        let applied = on_folder(&ws, &["apply", "--auto-approve"]).ok();
        assert!(
            applied.stdout.contains("Apply complete! Resources: 22 added, 0 changed, 0 destroyed."),
            "{}",
            applied.stdout
        );
        let rows = ws.query(
            "SELECT b.name, c.name FROM branches b JOIN customers c ON c.id = b.customer_id \
             ORDER BY b.name",
        );
        let pairs: Vec<(String, String)> = rows
            .into_iter()
            .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
            .collect();
        let expect = [
            ("Barchefz Centurion", "Barchefz"),
            ("Leopard Lodge Bush Camp", "Leopard Lodge"),
            ("Maltos Rustenburg", "Maltos Sun City"),
            ("Maltos Sun City", "Maltos Sun City"),
            ("Valley (Barchefz Branch)", "Barchefz"),
        ];
        assert_eq!(
            pairs,
            expect
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        );

        let again = on_folder(&ws, &["plan", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
        assert!(
            again.stdout.contains("No changes. The database matches the specs (22 records up to date, in 2 resources)."),
            "{}",
            again.stdout
        );

        // A branch moves to another customer: one update, written as that customer's key.
        ws.edit(
            "examples/branches/branches.csv",
            "Barchefz Centurion,Barchefz,",
            "Barchefz Centurion,Leopard Lodge,",
        );
        let moved = on_folder(&ws, &["plan"]).ok();
        assert!(
            moved.stdout.contains(
                r#"~ customer = "customers[\"barchefz\"]" -> "customers[\"leopard-lodge\"]""#
            ),
            "{}",
            moved.stdout
        );
        on_folder(&ws, &["apply", "--auto-approve"]).ok();
        let rows = ws.query(
            "SELECT c.name FROM branches b JOIN customers c ON c.id = b.customer_id \
             WHERE b.name = 'Barchefz Centurion'",
        );
        assert_eq!(rows, vec![vec![Some("Leopard Lodge".to_string())]]);
        let run = on_folder(&ws, &["plan", "--detailed-exitcode"]);
        assert_eq!(run.code, 0, "{}", run.stdout);
    }
}

on_each_backend! {
    fn a_missing_reference_is_a_plan_error_and_nothing_is_written(ws) {
        seeding(&ws);
        ws.edit(
            "examples/branches/branches.csv",
            "Barchefz Centurion,Barchefz,",
            "Barchefz Centurion,Barchefs Ltd,",
        );
        let run = on_folder(&ws, &["apply", "--auto-approve"]).fails();
        assert!(
            run.stderr.contains(
                r#"branches record "Barchefz Centurion" (branches:Barchefz Centurion): field `customer` refers to customers "Barchefs Ltd" by `name`, and no customers record has that value"#
            ),
            "{}",
            run.stderr
        );
        if ws.backend() == crate::common::Backend::Sqlite && !ws.db_path().exists() {
            return;
        }
        let tables = ws.query(ws.backend().pick(
            "SELECT name FROM sqlite_master WHERE name IN ('customers', 'branches')",
            "SELECT table_name FROM information_schema.tables WHERE table_name IN ('customers', 'branches') AND table_schema = current_schema()",
            "SELECT table_name FROM information_schema.tables WHERE table_name IN ('customers', 'branches') AND table_schema = DATABASE()",
        ));
        assert!(tables.is_empty(), "{tables:?}");
    }
}

#[test]
fn a_private_customer_excluded_by_its_spec_cannot_be_referenced() {
    let ws = Workspace::seed();
    seeding(&ws);
    ws.edit(
        "examples/branches/branches.csv",
        "Leopard Lodge Bush Camp,Leopard Lodge,",
        "Lerato's stall,Lerato Dlamini,",
    );
    let run = on_folder(&ws, &["plan"]).fails();
    assert!(
        run.stderr
            .contains(r#"refers to customers "Lerato Dlamini""#),
        "{}",
        run.stderr
    );
}

#[test]
fn a_dependency_cycle_is_an_error_naming_it() {
    let ws = Workspace::seed();
    seeding(&ws);
    ws.edit(
        "examples/seeding/customers.yaml",
        "on_missing: keep",
        "on_missing: keep\ndepends_on: [branches]",
    );
    let run = on_folder(&ws, &["plan"]).fails();
    assert!(
        run.stderr.contains(
            "the resources depend on each other in a cycle: branches → customers → branches"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unknown_dependency_is_an_error() {
    let ws = Workspace::seed();
    seeding(&ws);
    ws.edit(
        "examples/seeding/branches.yaml",
        "ref: customers",
        "ref: clients",
    );
    let run = on_folder(&ws, &["plan"]).fails();
    assert!(
        run.stderr
            .contains("depends on `clients`, which no spec planned with it declares"),
        "{}",
        run.stderr
    );
}

on_each_backend! {
    fn target_plans_and_applies_part_with_a_warning(ws) {
        seeding(&ws);

        // A resource alone: its dependents are left out.
        let run = on_folder(&ws, &["plan", "--target", "customers"]).ok();
        assert!(
            run.stderr
                .contains("Warning: resource targeting is in effect (customers)"),
            "{}",
            run.stderr
        );
        assert!(!run.stdout.contains("# branches"), "{}", run.stdout);
        assert!(run.stdout.contains("17 to add"), "{}", run.stdout);

        // One record: it comes with the resources it depends on, whole.
        let run = on_folder(
            &ws,
            &["plan", "--target", r#"branches["barchefz-centurion"]"#],
        )
        .ok();
        assert!(run.stdout.contains("# customers"), "{}", run.stdout);
        assert!(
            run.stdout
                .contains(r#"branches["barchefz-centurion"] will be created"#),
            "{}",
            run.stdout
        );
        assert!(
            !run.stdout.contains(r#"branches["maltos-rustenburg"]"#),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(
                "Plan (all resources): 18 to add, 0 to change, 0 to destroy, in 2 resources."
            ),
            "{}",
            run.stdout
        );

        // Applying a target writes only that part; the rest follows on the next full apply.
        on_folder(&ws, &["apply", "--auto-approve", "--target", "customers"]).ok();
        assert_eq!(
            ws.query("SELECT COUNT(*) FROM customers"),
            vec![vec![Some("17".into())]]
        );
        let rest = on_folder(&ws, &["plan"]).ok();
        assert!(
            rest.stdout
                .contains("Plan (all resources): 5 to add, 0 to change, 0 to destroy, in 2 resources."),
            "{}",
            rest.stdout
        );

        let run = on_folder(&ws, &["plan", "--target", "suppliers"]).fails();
        assert!(
            run.stderr
                .contains("--target suppliers: no spec of the folder declares `suppliers`"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn folder_plan_as_json_has_one_summary_and_every_resource() {
    let ws = Workspace::seed();
    seeding(&ws);
    let json = on_folder(&ws, &["plan", "--json"]).ok().json();
    assert_eq!(json["format_version"], "1");
    assert_eq!(json["summary"]["create"], 22);
    assert_eq!(json["resources"][0]["resource"], "customers");
    assert_eq!(json["resources"][1]["resource"], "branches");
    let valley = json["resources"][1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == r#"branches["valley-barchefz-branch"]"#)
        .expect("the Valley branch");
    assert_eq!(valley["after"]["customer"], r#"customers["barchefz"]"#);
}

#[test]
fn the_shipped_single_spec_folder_still_plans_alone() {
    let ws = Workspace::seed();
    let run = ws.run(&["plan"]).ok();
    assert!(!run.stdout.contains("all resources"), "{}", run.stdout);
    assert!(run.stdout.contains("Plan: 17 to add"), "{}", run.stdout);
}

on_each_backend! {
    fn deletes_run_children_first_under_foreign_keys(ws) {
        seeding(&ws);
        let sqlite = ws.backend() == crate::common::Backend::Sqlite;
        if !sqlite {
            // Tables made by hand, with a foreign key that refuses a customer deleted before
            // its branches (and a branch created before its customer).
            let b = ws.backend();
            ws.execute(b.pick(
                "",
                "CREATE TABLE customers (id SERIAL PRIMARY KEY, name TEXT NOT NULL, \
                 contact_person TEXT, email TEXT, phone TEXT, customer_type TEXT)",
                "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, \
                 name VARCHAR(200) NOT NULL, contact_person VARCHAR(200), email VARCHAR(200), \
                 phone VARCHAR(40), customer_type VARCHAR(40)) ENGINE=InnoDB",
            ));
            ws.execute(b.pick(
                "",
                "CREATE TABLE branches (id SERIAL PRIMARY KEY, name TEXT NOT NULL, \
                 customer_id INTEGER NOT NULL REFERENCES customers(id), city TEXT, phone TEXT)",
                "CREATE TABLE branches (id INT AUTO_INCREMENT PRIMARY KEY, \
                 name VARCHAR(200) NOT NULL, customer_id INT NOT NULL, city VARCHAR(200), \
                 phone VARCHAR(40), FOREIGN KEY (customer_id) REFERENCES customers(id)) \
                 ENGINE=InnoDB",
            ));
        }
        on_folder(&ws, &["apply", "--auto-approve"]).ok();

        // Barchefz closes: the customer and its two branches leave the sources.
        for spec in ["examples/seeding/customers.yaml", "examples/seeding/branches.yaml"] {
            ws.edit(spec, "on_missing: keep", "on_missing: delete");
        }
        ws.edit(
            "examples/seeding/customers.yaml",
            "    when: { field: kind, equals: private }",
            "    when: { field: kind, equals: private }\n  - name: closed\n    when: { field: name, in: [Barchefz, Barchef Entertainment] }",
        );
        let csv = ws.read("examples/branches/branches.csv");
        let kept: Vec<&str> = csv.lines().filter(|l| !l.contains(",Barchefz,")).collect();
        ws.write("examples/branches/branches.csv", &(kept.join("\n") + "\n"));

        let run = on_folder(&ws, &["apply", "--auto-approve", "--allow-mass-delete"]).ok();
        assert!(
            run.stdout.contains("Apply complete! Resources: 0 added, 0 changed, 3 destroyed."),
            "{}\n{}",
            run.stdout,
            run.stderr
        );
        assert_eq!(
            ws.query("SELECT COUNT(*) FROM customers WHERE name = 'Barchefz'"),
            vec![vec![Some("0".into())]]
        );
        assert_eq!(
            ws.query("SELECT COUNT(*) FROM branches"),
            vec![vec![Some("3".into())]]
        );
        let again = on_folder(&ws, &["plan", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    }
}

#[test]
fn a_spec_with_references_planned_alone_names_what_is_missing() {
    let ws = Workspace::seed();
    seeding(&ws);
    let url = ws.url();
    let run = ws
        .run(&[
            "plan",
            "-f",
            "examples/seeding/branches.yaml",
            "--database",
            &url,
        ])
        .fails();
    assert!(
        run.stderr.contains(
            "resource `branches` (examples/seeding/branches.yaml) depends on `customers`"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn specs_naming_different_databases_are_refused() {
    let ws = Workspace::seed();
    seeding(&ws);
    ws.edit(
        "examples/seeding/branches.yaml",
        "resource: branches",
        "resource: branches\ndatabase: sqlite://elsewhere.db",
    );
    let run = ws.run(&["plan", "-f", "examples/seeding"]).fails();
    assert!(
        run.stderr.contains("name different databases"),
        "{}",
        run.stderr
    );
    assert!(!ws.path("elsewhere.db").exists());
}

#[test]
fn validate_checks_every_spec_of_a_folder_and_by_needs_ref() {
    let ws = Workspace::seed();
    seeding(&ws);
    let run = ws.run(&["validate", "-f", "examples/seeding"]).ok();
    assert!(
        run.stdout
            .contains("examples/seeding/branches.yaml is valid: 5 records read from 1 source"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("examples/seeding/customers.yaml is valid"),
        "{}",
        run.stdout
    );
    ws.edit(
        "examples/seeding/branches.yaml",
        "ref: customers, by: name,",
        "by: name,",
    );
    let run = ws.run(&["validate", "-f", "examples/seeding"]).fails();
    assert!(
        run.stderr
            .contains("`by` only applies to fields with `ref`"),
        "{}",
        run.stderr
    );
}
