//! The same scenarios on SQLite, PostgreSQL and MySQL/MariaDB: each test below runs once per
//! backend, on its own freshly created database (see `common.rs`).

use crate::common::{Workspace, on_each_backend};

fn count(ws: &Workspace, table: &str) -> String {
    ws.query(&format!("SELECT count(*) FROM {table}"))[0][0]
        .clone()
        .unwrap()
}

on_each_backend! {
    /// The seed scenario: 17 created, 3 excluded; the next plan has nothing to do.
    fn seed_scenario_then_no_changes(ws) {
        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["summary"]["create"], 17);
        assert_eq!(json["summary"]["excluded"], 3);
        let run = ws.run(&["apply", "--auto-approve"]).ok();
        assert!(
            run.stdout.contains("Apply complete! Resources: 17 added, 0 changed, 0 destroyed."),
            "{}",
            run.stdout
        );
        assert_eq!(count(&ws, "customers"), "17");
        assert_eq!(count(&ws, "reconcile_state"), "17");
        let rows = ws.query("SELECT name, email, phone FROM customers ORDER BY name");
        assert!(rows.contains(&vec![
            Some("Maltos Sun City".into()),
            Some("suncity@maltos.co.za".into()),
            Some("+27145575600".into())
        ]));
        // Every state entry points at a row that exists, under the key the database gave it.
        let id = ws.backend().pick("CAST(c.id AS TEXT)", "CAST(c.id AS TEXT)", "CAST(c.id AS CHAR)");
        let orphans = ws.query(&format!(
            "SELECT count(*) FROM reconcile_state s LEFT JOIN customers c \
             ON {id} = s.row_key WHERE c.id IS NULL"
        ));
        assert_eq!(orphans[0][0].as_deref(), Some("0"));
        let named = ws.query(&format!(
            "SELECT c.name FROM reconcile_state s JOIN customers c \
             ON {id} = s.row_key WHERE s.address = 'maltos-sun-city'"
        ));
        assert_eq!(named, vec![vec![Some("Maltos Sun City".to_string())]]);

        let again = ws.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
        assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    }
}

on_each_backend! {
    /// Editing a source value updates that one field of that one row.
    fn edit_becomes_an_update(ws) {
        ws.run(&["apply", "--auto-approve"]).ok();
        ws.edit(
            "examples/customers/production_seeding.json",
            "suncity@maltos.co.za",
            "orders@maltos.co.za",
        );
        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["summary"]["update"], 1);
        assert_eq!(json["summary"]["create"], 0);
        let run = ws.run(&["apply", "--auto-approve"]).ok();
        assert!(run.stdout.contains("0 added, 1 changed"), "{}", run.stdout);
        let email = ws.query("SELECT email FROM customers WHERE name = 'Maltos Sun City'");
        assert_eq!(email[0][0].as_deref(), Some("orders@maltos.co.za"));
        assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
    }
}

on_each_backend! {
    /// A table the application owns: a serial key, NOT NULL columns with defaults the spec
    /// does not map, a NOT NULL text column, a unique email. Existing rows are adopted, other
    /// columns are left alone, and new rows get the defaults.
    fn application_table_is_adopted_and_respected(ws) {
        let ddl = ws.backend().pick(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, \
             name VARCHAR(100) NOT NULL, contact_person VARCHAR(100) NOT NULL, \
             email VARCHAR(254) UNIQUE, phone VARCHAR(20), customer_type VARCHAR(20), \
             notes TEXT NOT NULL DEFAULT 'none', active BOOLEAN NOT NULL DEFAULT TRUE)",
            "CREATE TABLE customers (id SERIAL PRIMARY KEY, \
             name VARCHAR(100) NOT NULL, contact_person VARCHAR(100) NOT NULL, \
             email VARCHAR(254) UNIQUE, phone VARCHAR(20), customer_type VARCHAR(20), \
             notes TEXT NOT NULL DEFAULT 'none', active BOOLEAN NOT NULL DEFAULT TRUE)",
            "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, \
             name VARCHAR(100) NOT NULL, contact_person VARCHAR(100) NOT NULL, \
             email VARCHAR(254) UNIQUE, phone VARCHAR(20), customer_type VARCHAR(20), \
             notes VARCHAR(100) NOT NULL DEFAULT 'none', active BOOLEAN NOT NULL DEFAULT TRUE)",
        );
        ws.execute(ddl);
        ws.execute(
            "INSERT INTO customers (name, contact_person, email, notes) \
             VALUES ('Leopard Lodge Hotel', 'Leon', 'info@leopardlodge.co.za', 'keep me')",
        );
        ws.execute(
            "INSERT INTO customers (name, contact_person, notes) VALUES ('Shebeen', '', 'keep me too')",
        );
        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["create_table"], false);
        assert_eq!(json["summary"]["create"], 15);
        assert_eq!(json["summary"]["update"], 2);

        ws.run(&["apply", "--auto-approve"]).ok();
        let kept = ws.query("SELECT id, name, notes FROM customers WHERE notes <> 'none' ORDER BY id");
        assert_eq!(
            kept,
            vec![
                vec![Some("1".into()), Some("Leopard Lodge".into()), Some("keep me".into())],
                vec![Some("2".into()), Some("Shebeen".into()), Some("keep me too".into())],
            ],
            "adopted rows keep their id and the columns the spec does not map"
        );
        assert_eq!(count(&ws, "customers"), "17");
        assert_eq!(
            ws.query("SELECT count(*) FROM customers WHERE notes = 'none'")[0][0].as_deref(),
            Some("15"),
            "new rows get the column defaults"
        );
        assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
    }
}

on_each_backend! {
    /// Two golden records with the same unique email, and one clashing with a row the tool
    /// does not manage: a plan error naming them all, and nothing written.
    fn unique_constraint_violations_are_plan_errors(ws) {
        let ddl = ws.backend().pick(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             email VARCHAR(100), CONSTRAINT people_email_key UNIQUE (email))",
            "CREATE TABLE people (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, \
             email VARCHAR(100), CONSTRAINT people_email_key UNIQUE (email))",
            "CREATE TABLE people (id BIGINT AUTO_INCREMENT PRIMARY KEY, name TEXT NOT NULL, \
             email VARCHAR(100), CONSTRAINT people_email_key UNIQUE (email))",
        );
        ws.execute(ddl);
        ws.execute("INSERT INTO people (name, email) VALUES ('Zed', 'c@example.com')");
        ws.write(
            "specs/customers.yaml",
            r#"
version: 1
resource: people
target:
  table: people
  fields:
    name: { type: text, required: true }
    email: { type: email }
sources:
  list:
    id: name
    fields: { name: name, email: email }
    inline:
      - { name: Ann, email: a@example.com }
      - { name: Bob, email: A@Example.com }
      - { name: Cid, email: c@example.com }
      - { name: Dee, email: d@example.com }
match:
  compare: {}   # the matcher would adopt Zed's row for Cid by the shared email
"#,
        );
        for cmd in [&["plan"][..], &["apply", "--auto-approve"][..]] {
            let run = ws.run(cmd).fails();
            assert!(run.stderr.contains("on (email) would be violated"), "{}", run.stderr);
            if ws.backend() != Backend::Sqlite {
                // SQLite does not keep the names of constraints declared in CREATE TABLE.
                assert!(run.stderr.contains("people_email_key"), "{}", run.stderr);
            }
            assert!(
                run.stderr.contains(r#"people["ann"], people["bob"]"#),
                "{}",
                run.stderr
            );
            assert!(
                run.stderr.contains(r#"the existing row id = 1, people["cid"]"#),
                "{}",
                run.stderr
            );
            assert!(!run.stderr.contains("dee"), "{}", run.stderr);
        }
        assert_eq!(count(&ws, "people"), "1");
        // Not even the state table was created.
        let state = ws.backend().pick(
            "SELECT count(*) FROM sqlite_master WHERE name = 'reconcile_state'",
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'reconcile_state' \
             AND table_schema = current_schema()",
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'reconcile_state' \
             AND table_schema = DATABASE()",
        );
        assert_eq!(ws.query(state)[0][0].as_deref(), Some("0"));
    }
}

on_each_backend! {
    /// Bad source data fails with the file and row in strict mode, and the table stays as it
    /// was.
    fn bad_input_names_the_row_and_writes_nothing(ws) {
        ws.run(&["apply", "--auto-approve"]).ok();
        let before = ws.query("SELECT id, name, email FROM customers ORDER BY id");
        ws.edit(
            "examples/customers/import_customers.csv",
            "events@venue.co.za",
            "events-at-venue",
        );
        let run = ws.run(&["apply", "--auto-approve", "--strict"]).fails();
        assert!(run.stderr.contains("import_customers.csv"), "{}", run.stderr);
        assert!(run.stderr.contains("\"events-at-venue\" is not an email address"), "{}", run.stderr);
        assert_eq!(before, ws.query("SELECT id, name, email FROM customers ORDER BY id"));

        // A primary key the table lacks is named before anything is read.
        ws.edit("examples/customers/import_customers.csv", "events-at-venue", "events@venue.co.za");
        ws.edit("specs/customers.yaml", "  key: email", "  primary_key: customer_no\n  key: email");
        let run = ws.run(&["plan"]).fails();
        assert!(run.stderr.contains("has no column customer_no (primary key)"), "{}", run.stderr);
    }
}

const TYPES_SPEC: &str = r#"
version: 1
resource: items
target:
  table: items
  key: code
  fields:
    code: { type: text, required: true }
    qty: { type: integer }
    price: { type: decimal }
    active: { type: boolean }
    born: { type: date }
    seen: { type: timestamp }
    extra: { type: json }
sources:
  list:
    fields: { code: code, qty: qty, price: price, active: active, born: born, seen: seen, extra: extra }
    inline:
      - { code: a, qty: 3, price: "12.50", active: yes, born: 2024-02-29, seen: "2024-03-01T10:30:00+02:00", extra: { b: 1, a: [true, null, "x  y"] } }
      - { code: b, qty: -7, price: 0.125, active: false, born: 1999-12-31, seen: "2024-03-01 23:59:59.25", extra: '{"k": "v"}' }
      - { code: c }
"#;

on_each_backend! {
    /// Every field type survives the round trip through the database: after apply, the
    /// values read back equal the spec's, so the next plan is empty.
    fn field_types_round_trip(ws) {
        ws.write("specs/customers.yaml", TYPES_SPEC);
        ws.run(&["apply", "--auto-approve"]).ok();
        let run = ws.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let json = ws.run(&["plan", "--json"]).ok().json();
        let a = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == "items[\"a\"]")
            .unwrap();
        assert_eq!(a["before"]["price"], "12.5");
        assert_eq!(a["before"]["active"], true);
        assert_eq!(a["before"]["born"], "2024-02-29");
        assert_eq!(a["before"]["seen"], "2024-03-01 08:30:00");
        assert_eq!(a["before"]["extra"], r#"{"a":[true,null,"x  y"],"b":1}"#);
        let rows = ws.query("SELECT qty FROM items WHERE code = 'b'");
        assert_eq!(rows[0][0].as_deref(), Some("-7"));

        // A change of type-aware value is one update of that field.
        ws.edit("specs/customers.yaml", "price: 0.125", "price: 0.1250001");
        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["summary"]["update"], 1);
        ws.run(&["apply", "--auto-approve"]).ok();
        assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
    }
}

on_each_backend! {
    /// An application's table with its own column types (NUMERIC(10,2), DATE, a timestamp,
    /// JSON, a small integer) maps the same way.
    fn existing_typed_columns_compare_cleanly(ws) {
        let ddl = ws.backend().pick(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, code VARCHAR(10) NOT NULL UNIQUE, \
             qty SMALLINT, price NUMERIC(10,2), active BOOLEAN, born DATE, seen DATETIME, \
             extra JSON)",
            "CREATE TABLE items (id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
             code VARCHAR(10) NOT NULL UNIQUE, qty SMALLINT, price NUMERIC(10,2), \
             active BOOLEAN, born DATE, seen TIMESTAMPTZ, extra JSON)",
            "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(10) NOT NULL UNIQUE, \
             qty SMALLINT, price DECIMAL(10,2), active TINYINT(1), born DATE, seen DATETIME(3), \
             extra JSON)",
        );
        ws.execute(ddl);
        ws.write(
            "specs/customers.yaml",
            &TYPES_SPEC.replace("0.125", "0.12").replace("23:59:59.25", "23:59:59.5"),
        );
        ws.run(&["apply", "--auto-approve"]).ok();
        let run = ws.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert_eq!(count(&ws, "items"), "3");
    }
}

on_each_backend! {
    /// A primary key the database fills with text (a UUID default): keys come back through
    /// RETURNING rather than from a sequence.
    fn text_keys_generated_by_the_database(ws) {
        let ddl = ws.backend().pick(
            "CREATE TABLE customers (id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(16)))), \
             name TEXT NOT NULL, contact_person TEXT, email TEXT, phone TEXT, customer_type TEXT)",
            "CREATE TABLE customers (id TEXT PRIMARY KEY DEFAULT CAST(gen_random_uuid() AS TEXT), \
             name TEXT NOT NULL, contact_person TEXT, email TEXT, phone TEXT, customer_type TEXT)",
            "CREATE TABLE customers (id VARCHAR(36) PRIMARY KEY DEFAULT (UUID()), \
             name TEXT NOT NULL, contact_person TEXT, email TEXT, phone TEXT, customer_type TEXT)",
        );
        ws.execute(ddl);
        ws.run(&["apply", "--auto-approve"]).ok();
        let joined = ws.query(
            "SELECT count(*) FROM reconcile_state s JOIN customers c ON c.id = s.row_key",
        );
        assert_eq!(joined[0][0].as_deref(), Some("17"));
        let maltos = ws.query(
            "SELECT c.name FROM reconcile_state s JOIN customers c ON c.id = s.row_key \
             WHERE s.address = 'maltos-sun-city'",
        );
        assert_eq!(maltos, vec![vec![Some("Maltos Sun City".to_string())]]);
        assert!(ws.run(&["plan"]).ok().stdout.contains("No changes."));
    }
}

on_each_backend! {
    /// A legacy table feeds the spec through an SQL source with its own URL.
    fn sql_source_reads_a_legacy_table(ws) {
        ws.execute(
            "CREATE TABLE legacy_customers (legacy_id INTEGER, business VARCHAR(100), \
             mail VARCHAR(100), credit NUMERIC(8,2), vip BOOLEAN)",
        );
        ws.execute(
            "INSERT INTO legacy_customers VALUES \
             (10, ' Leopard  Lodge ', 'INFO@leopardlodge.co.za', 100.50, TRUE), \
             (11, 'Wimpy Mooikloof', NULL, NULL, FALSE)",
        );
        ws.write(
            "specs/customers.yaml",
            r#"
version: 1
resource: accounts
target:
  table: accounts
  fields:
    name: { type: text, required: true }
    email: { type: email }
    credit: { type: decimal }
    vip: { type: boolean }
sources:
  legacy:
    sql: "SELECT legacy_id, business, mail, credit, vip FROM legacy_customers ORDER BY legacy_id"
    database: ${LEGACY_URL}
    id: legacy_id
    fields: { name: business, email: mail, credit: credit, vip: vip }
"#,
        );
        let run = ws.run_with_env(&["plan", "--json"], &[("LEGACY_URL", Some(&ws.url()))]).ok();
        let json = run.json();
        assert_eq!(json["summary"]["create"], 2, "{}", run.stdout);
        let first = &json["changes"][0];
        assert_eq!(first["address"], "accounts[\"leopard-lodge\"]");
        assert_eq!(first["after"]["email"], "info@leopardlodge.co.za");
        assert_eq!(first["after"]["credit"], "100.5");
        assert_eq!(first["after"]["vip"], true);
        assert_eq!(first["sources"][0], "legacy:10");
        ws.run_with_env(&["apply", "--auto-approve"], &[("LEGACY_URL", Some(&ws.url()))]).ok();
        assert_eq!(count(&ws, "accounts"), "2");
        let run = ws.run_with_env(&["plan"], &[("LEGACY_URL", Some(&ws.url()))]).ok();
        assert!(run.stdout.contains("No changes."), "{}", run.stdout);

        // A broken query names the source and never shows a password.
        ws.edit("specs/customers.yaml", "FROM legacy_customers", "FROM no_such_table");
        let url = match ws.backend() {
            Backend::Sqlite => ws.url(),
            _ => ws.url().replacen("://", "://nobody:hunter2@", 1),
        };
        let run = ws.run_with_env(&["plan"], &[("LEGACY_URL", Some(&url))]).fails();
        assert!(run.stderr.contains("source `legacy`"), "{}", run.stderr);
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    }
}

#[test]
fn passwords_never_appear_in_messages() {
    let ws = Workspace::seed();
    for url in [
        "postgres://app:s3cr3t-pw@127.0.0.1:1/app",
        "mysql://app:s3cr3t-pw@127.0.0.1:1/app",
    ] {
        let run = ws.run(&["plan", "--database", url]).fails();
        assert!(!run.stderr.contains("s3cr3t-pw"), "{}", run.stderr);
        assert!(run.stderr.contains("app:***@127.0.0.1:1"), "{}", run.stderr);
    }
}

on_each_backend! {
    /// Columns new rows cannot do without are named before anything is written: an unmapped
    /// NOT NULL column without a default, and a NOT NULL number the records leave empty.
    fn not_null_columns_the_spec_cannot_fill_are_plan_errors(ws) {
        let ddl = ws.backend().pick(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             age INTEGER NOT NULL, tenant_id INTEGER NOT NULL)",
            "CREATE TABLE people (id SERIAL PRIMARY KEY, name TEXT NOT NULL, \
             age INTEGER NOT NULL, tenant_id INTEGER NOT NULL)",
            "CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT NOT NULL, \
             age INTEGER NOT NULL, tenant_id INTEGER NOT NULL)",
        );
        ws.execute(ddl);
        ws.write(
            "specs/customers.yaml",
            r#"
version: 1
resource: people
target:
  table: people
  fields:
    name: { type: text, required: true }
    age: { type: integer }
sources:
  list:
    id: name
    fields: { name: name, age: age }
    inline:
      - { name: Ann, age: 30 }
      - { name: Bob }
"#,
        );
        let run = ws.run(&["apply", "--auto-approve"]).fails();
        assert!(run.stderr.contains("2 problems"), "{}", run.stderr);
        assert!(
            run.stderr.contains(r#"column "tenant_id" is NOT NULL without a default"#),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(r#"people["bob"]: field `age` is empty but column "age" is NOT NULL"#),
            "{}",
            run.stderr
        );
        assert_eq!(count(&ws, "people"), "0");
    }
}

on_each_backend! {
    /// One apply that updates different sets of fields in different rows and deletes two
    /// rows: each batch writes exactly its rows and fields.
    fn batched_updates_and_deletes_write_exactly_their_rows(ws) {
        ws.run(&["apply", "--auto-approve"]).ok();
        let file = "examples/customers/production_seeding.json";
        ws.edit(file, "\"contact_person\": \"Leon\"", "\"contact_person\": \"Leon Botha\"");
        ws.edit(file, "+27 83 267 6406", "+27 83 267 6400");
        ws.edit(file, "mooikloof@wimpy.co.za", "orders@wimpy.co.za");
        ws.edit(file, "luma@suninternational.com", "bar@suninternational.com");
        ws.edit(file, "+27 78 254 8948", "+27 78 254 8900");
        let mut doc: serde_json::Value = serde_json::from_str(&ws.read(file)).unwrap();
        doc.as_array_mut()
            .unwrap()
            .retain(|r| ![2, 10].contains(&r["pk"].as_i64().unwrap()));
        ws.write(file, &serde_json::to_string_pretty(&doc).unwrap());
        let before = ws.query(
            "SELECT name, contact_person, email, phone FROM customers \
             WHERE name NOT IN ('Leopard Lodge', 'Wimpy Mooikloof', 'Luma Bar and Lounge', \
             'The T Junction', 'Pecanwood Golf Estate', 'Pemba Mozambican Restaurant') ORDER BY name",
        );

        let run = ws
            .run(&["apply", "--auto-approve", "--prune", "--allow-mass-delete"])
            .ok();
        assert!(run.stdout.contains("0 added, 4 changed, 2 destroyed"), "{}", run.stdout);
        let rows = ws.query(
            "SELECT name, contact_person, email, phone FROM customers WHERE name IN \
             ('Leopard Lodge', 'Wimpy Mooikloof', 'Luma Bar and Lounge', 'The T Junction') \
             ORDER BY name",
        );
        let row = |v: [&str; 4]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        assert_eq!(
            rows,
            vec![
                row(["Leopard Lodge", "Leon Botha", "info@leopardlodge.co.za", "+27832676400"]),
                row(["Luma Bar and Lounge", "Bar Manager", "bar@suninternational.com", "+27145575150"]),
                row(["The T Junction", "Restaurant Manager", "info@thetjunction.co.za", "+27782548900"]),
                row(["Wimpy Mooikloof", "Store Manager", "orders@wimpy.co.za", "+27129980100"]),
            ]
        );
        let others = ws.query(
            "SELECT name, contact_person, email, phone FROM customers \
             WHERE name NOT IN ('Leopard Lodge', 'Wimpy Mooikloof', 'Luma Bar and Lounge', \
             'The T Junction', 'Pecanwood Golf Estate', 'Pemba Mozambican Restaurant') ORDER BY name",
        );
        assert_eq!(before, others, "rows outside the plan are untouched");
        assert_eq!(count(&ws, "customers"), "15");
        assert_eq!(count(&ws, "reconcile_state"), "15");
        let again = ws.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    }
}

const AWKWARD_SPEC: &str = r#"
version: 1
resource: notes
target:
  table: notes
  key: code
  fields:
    code: { type: text, required: true }
    body: { type: text }
    extra: { type: json }
sources:
  list:
    id: code
    fields: { code: code, body: body, extra: extra }
    inline:
      - { code: 'back\slash "quoted"', body: plain, extra: { tab: "a\tb", nl: "c\nd", bs: "e\\f" } }
      - { code: "it's", body: 'Zoë \N' }
"#;

on_each_backend! {
    /// Text holding tabs, line breaks, backslashes, quotes and accents (in the table's rows and
    /// in the state entries' members) is read back exactly as the database holds it.
    fn awkward_text_is_read_back_exactly(ws) {
        ws.write("specs/customers.yaml", AWKWARD_SPEC);
        ws.run(&["apply", "--auto-approve"]).ok();
        let run = ws.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

        // Someone edits a row by hand: the plan shows exactly what they wrote.
        ws.execute(ws.backend().pick(
            "UPDATE notes SET body = 'tab' || char(9) || 'lf' || char(10) || 'cr' || char(13) \
             || 'bs\\ \\N ''q'' ü' WHERE code = 'it''s'",
            "UPDATE notes SET body = 'tab' || chr(9) || 'lf' || chr(10) || 'cr' || chr(13) \
             || 'bs\\ \\N ''q'' ü' WHERE code = 'it''s'",
            "UPDATE notes SET body = CONCAT('tab', CHAR(9 USING utf8mb4), 'lf', \
             CHAR(10 USING utf8mb4), 'cr', CHAR(13 USING utf8mb4), 'bs\\\\ \\\\N ''q'' ü') \
             WHERE code = 'it''s'",
        ));
        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["summary"]["update"], 1, "{json}");
        let edited = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["action"] == "update")
            .unwrap();
        assert_eq!(edited["before"]["body"], "tab\tlf\ncr\rbs\\ \\N 'q' ü");
        assert_eq!(edited["after"]["body"], "Zoë \\N");
        ws.run(&["apply", "--auto-approve"]).ok();
        let run = ws.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let stored = ws.query("SELECT extra FROM notes WHERE body = 'plain'");
        assert!(stored[0][0].as_deref().unwrap().contains(r#""e\\f""#), "{stored:?}");
    }
}

on_each_backend! {
    /// A table the first apply creates: its keys run 1 to n, both it and the state table end
    /// with their primary keys (PostgreSQL adds them after the rows), and the next row the
    /// spec or anyone else adds takes the next key.
    fn created_table_has_its_keys_and_its_sequence(ws) {
        ws.run(&["apply", "--auto-approve"]).ok();
        let keys = ws.query("SELECT count(DISTINCT id), min(id), max(id) FROM customers");
        assert_eq!(
            keys,
            vec![vec![Some("17".to_string()), Some("1".to_string()), Some("17".to_string())]]
        );
        let primary_keys = ws.backend().pick(
            "SELECT count(*) FROM (SELECT 1 FROM pragma_table_info('customers') WHERE pk > 0 \
             UNION ALL SELECT 1 FROM pragma_table_info('reconcile_state') WHERE pk > 0)",
            "SELECT count(*) FROM information_schema.key_column_usage k \
             JOIN information_schema.table_constraints c USING (constraint_schema, constraint_name) \
             WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() \
             AND c.table_name IN ('customers', 'reconcile_state')",
            "SELECT count(*) FROM information_schema.key_column_usage \
             WHERE constraint_name = 'PRIMARY' AND table_schema = DATABASE() \
             AND table_name IN ('customers', 'reconcile_state')",
        );
        // id on customers; resource and address on the state table.
        assert_eq!(ws.query(primary_keys)[0][0].as_deref(), Some("3"));

        let csv = ws.read("examples/customers/import_customers.csv");
        ws.write(
            "examples/customers/import_customers.csv",
            &format!("{csv}Quagga Quarry Cafe,Quinton,hello@quagga.co.za,+27 11 555 0101,business\n"),
        );
        let run = ws.run(&["apply", "--auto-approve"]).ok();
        assert!(run.stdout.contains("1 added, 0 changed"), "{}", run.stdout);
        let quagga = ws.query("SELECT id FROM customers WHERE name = 'Quagga Quarry Cafe'");
        assert_eq!(quagga, vec![vec![Some("18".to_string())]]);
        ws.execute("INSERT INTO customers (name) VALUES ('Walk-in')");
        let walk_in = ws.query("SELECT id FROM customers WHERE name = 'Walk-in'");
        assert_eq!(walk_in, vec![vec![Some("19".to_string())]]);
    }
}
