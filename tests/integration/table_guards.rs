//! Tables that would silently change or lose data, refused before anything is written: column
//! types and widths that cannot hold the spec's values, a table claimed by another resource, a
//! MySQL URL without a database, stale saved plans; soft-deleted rows whose record comes back,
//! restored; long addresses and wide rows, which fit.

use crate::common::{Workspace, on_each_backend};

/// Every row of `table`, ordered by its first column, as text.
fn rows(ws: &Workspace, table: &str, cols: &str) -> Vec<Vec<Option<String>>> {
    ws.query(&format!("SELECT {cols} FROM {table} ORDER BY 1"))
}

const ITEMS: &str = r#"
version: 1
resource: items
target:
  table: items
  key: code
  fields:
    code: { type: text }
    label: { type: text }
    price: { type: decimal }
sources:
  list:
    id: id
    fields: { code: code, label: label, price: price }
    inline:
      - { id: 1, code: "0012", label: "Twelve", price: "3.70" }
      - { id: 2, code: "3.7", label: "A label well over twenty characters", price: "1.25" }
"#;

on_each_backend! {
    /// A text field mapped to an integer column: MariaDB would store "0012" as 12 and "3.7"
    /// as 4. The plan and the apply are refused naming the table, the column and its type,
    /// the field and its type, and the fix; the table is left as it was.
    fn a_column_of_the_wrong_type_is_refused(ws) {
        let ddl = ws.backend().pick(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, code INTEGER, label TEXT, price NUMERIC)",
            "CREATE TABLE items (id SERIAL PRIMARY KEY, code INTEGER, label TEXT, price NUMERIC(10,2))",
            "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, code INT, label TEXT, \
             price DECIMAL(10,2))",
        );
        ws.execute(ddl);
        ws.execute("INSERT INTO items (code, label, price) VALUES (7, 'Seven', 1.5)");
        ws.write("specs/customers.yaml", ITEMS);
        let before = rows(&ws, "items", "id, code, label");
        for cmd in [&["plan"][..], &["apply", "--auto-approve"][..]] {
            let run = ws.run(cmd).fails();
            let e = &run.stderr;
            assert!(e.contains(r#"table "items" has a column that cannot hold"#), "{e}");
            assert!(e.contains(r#"column "code" is INT"#), "{e}");
            assert!(e.contains("field `code` is of type text"), "{e}");
            assert!(e.contains("change the field's `type`"), "{e}");
            assert!(e.contains("`column:`"), "{e}");
            assert!(e.contains("alter the column"), "{e}");
            assert!(!e.contains("\"price\""), "a decimal in a NUMERIC column is fine: {e}");
        }
        assert_eq!(rows(&ws, "items", "id, code, label"), before);

        // Made a text column, the same spec plans and applies, and converges.
        ws.execute("DROP TABLE items");
        let ddl = ws.backend().pick(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, code VARCHAR(10), label TEXT, price NUMERIC)",
            "CREATE TABLE items (id SERIAL PRIMARY KEY, code VARCHAR(10), label TEXT, price NUMERIC(10,2))",
            "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(10), label TEXT, \
             price DECIMAL(10,2))",
        );
        ws.execute(ddl);
        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(
            rows(&ws, "items", "code"),
            vec![vec![Some("0012".into())], vec![Some("3.7".into())]]
        );
        let again = ws.run(&["plan", "--detailed-exitcode", "--refresh"]);
        assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    }
}

on_each_backend! {
    /// SQLite goes by declared type affinity: STRING has NUMERIC affinity (it would store
    /// "0012" as 12), a column without a type takes anything.
    fn sqlite_affinity_and_untyped_columns(ws) {
        if ws.backend() != Backend::Sqlite {
            return;
        }
        ws.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, code STRING, label, price TEXT)");
        ws.write("specs/customers.yaml", ITEMS);
        let run = ws.run(&["apply", "--auto-approve"]).fails();
        assert!(run.stderr.contains(r#"column "code" is STRING"#), "{}", run.stderr);
        assert!(!run.stderr.contains("\"label\""), "{}", run.stderr);
        assert!(rows(&ws, "items", "id").is_empty());
    }
}

on_each_backend! {
    /// A value longer than its VARCHAR column, or with more decimals than its NUMERIC column
    /// keeps: a plan error naming the column, its width and the record of the longest value.
    /// SQLite enforces no widths, so there the same spec applies.
    fn values_wider_than_their_column_are_refused(ws) {
        let ddl = ws.backend().pick(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, code VARCHAR(10), label VARCHAR(20), \
             price NUMERIC(10,1))",
            "CREATE TABLE items (id SERIAL PRIMARY KEY, code VARCHAR(10), label VARCHAR(20), \
             price NUMERIC(10,1))",
            "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(10), \
             label VARCHAR(20), price DECIMAL(10,1))",
        );
        ws.execute(ddl);
        ws.write("specs/customers.yaml", ITEMS);
        if ws.backend() == Backend::Sqlite {
            ws.run(&["apply", "--auto-approve"]).ok();
            return;
        }
        for cmd in [&["plan"][..], &["apply", "--auto-approve"][..]] {
            let run = ws.run(cmd).fails();
            let e = &run.stderr;
            assert!(e.contains(r#"column "label" is"#), "{e}");
            assert!(e.contains("(20), but 1 value to write is longer"), "{e}");
            assert!(e.contains(r#"items["3-7"]'s `label` is 35 characters"#), "{e}");
            assert!(e.contains(r#"column "price" keeps 1 decimals, but 1 value to write has more"#), "{e}");
            assert!(e.contains(r#"items["3-7"]'s `price` has 2"#), "{e}");
            assert!(!e.contains(r#"column "code""#), "{e}");
        }
        assert!(rows(&ws, "items", "id").is_empty());
    }
}

on_each_backend! {
    /// A record soft-deleted when it left its source and then put back: the row is adopted
    /// again and its soft-delete column cleared, shown as a restore with its reason; the plan
    /// after that has nothing to do.
    fn a_soft_deleted_record_that_comes_back_is_restored(ws) {
        ws.edit(
            "specs/customers.yaml",
            "on_missing: keep",
            "on_missing: soft_delete\nsoft_delete: { column: archived, value: true }",
        );
        ws.run(&["apply", "--auto-approve"]).ok();
        let file = "examples/customers/production_seeding.json";
        let full = ws.read(file);
        let mut doc: serde_json::Value = serde_json::from_str(&full).unwrap();
        doc.as_array_mut().unwrap().retain(|r| r["pk"] != 2);
        ws.write(file, &serde_json::to_string_pretty(&doc).unwrap());
        ws.run(&["apply", "--auto-approve"]).ok();
        let archived = "SELECT count(*) FROM customers WHERE archived IS NOT NULL";
        assert_eq!(ws.query(archived)[0][0].as_deref(), Some("1"));

        ws.write(file, &full);
        let run = ws.run(&["plan", "--refresh"]).ok();
        assert!(run.stdout.contains("will be restored"), "{}", run.stdout);
        assert!(
            run.stdout.contains("restored: its record is back in the sources; archived = true will be cleared"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("0 to add, 1 to change, 0 to destroy"), "{}", run.stdout);
        let json = ws.run(&["plan", "--json"]).ok().json();
        let restored: Vec<_> = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["reason"] == "restored")
            .collect();
        assert_eq!(restored.len(), 1, "{json}");
        assert_eq!(restored[0]["action"], "update");

        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(ws.query(archived)[0][0].as_deref(), Some("0"));
        assert_eq!(
            ws.query("SELECT count(*) FROM customers")[0][0].as_deref(),
            Some("17"),
            "the row came back, not a copy of it"
        );
        let again = ws.run(&["plan", "--refresh", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
        assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    }
}

on_each_backend! {
    /// A NOT NULL boolean soft-delete column is restored to the opposite value.
    fn a_not_null_soft_delete_column_is_restored_to_the_opposite_value(ws) {
        let ddl = ws.backend().pick(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, \
             contact_person TEXT, email VARCHAR(254), phone VARCHAR(20), customer_type TEXT, \
             archived BOOLEAN NOT NULL DEFAULT FALSE)",
            "CREATE TABLE customers (id SERIAL PRIMARY KEY, name TEXT NOT NULL, \
             contact_person TEXT, email VARCHAR(254), phone VARCHAR(20), customer_type TEXT, \
             archived BOOLEAN NOT NULL DEFAULT FALSE)",
            "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT NOT NULL, \
             contact_person TEXT, email VARCHAR(254), phone VARCHAR(20), customer_type TEXT, \
             archived BOOLEAN NOT NULL DEFAULT FALSE)",
        );
        ws.execute(ddl);
        ws.edit(
            "specs/customers.yaml",
            "on_missing: keep",
            "on_missing: soft_delete\nsoft_delete: { column: archived, value: true }",
        );
        ws.run(&["apply", "--auto-approve"]).ok();
        // Archived by hand while still managed: the next plan restores it too, also one
        // that would otherwise skip reading the unchanged sources.
        ws.execute("UPDATE customers SET archived = TRUE WHERE name = 'Pecanwood Golf Estate'");
        let run = ws.run(&["plan"]).ok();
        assert!(run.stdout.contains("will be restored"), "{}", run.stdout);
        ws.run(&["apply", "--auto-approve", "--refresh"]).ok();
        let archived = ws.query("SELECT count(*) FROM customers WHERE archived = TRUE");
        assert_eq!(archived[0][0].as_deref(), Some("0"));
        let again = ws.run(&["plan", "--refresh", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    }
}

on_each_backend! {
    /// A second resource on a table another resource manages is refused, at plan and at
    /// apply, naming both and the table; nothing is written. A folder holding both specs is
    /// refused before anything is read.
    fn a_table_belongs_to_one_resource(ws) {
        ws.run(&["apply", "--auto-approve"]).ok();
        let spec = ws.read("specs/customers.yaml");
        ws.write(
            "other/clients.yaml",
            &spec.replace("resource: customers", "resource: clients"),
        );
        ws.execute("UPDATE customers SET contact_person = 'edited' WHERE name = 'Leopard Lodge'");
        let before = rows(&ws, "customers", "id, name, contact_person, email");
        let url = ws.url();
        for cmd in [
            &["plan", "-f", "other/clients.yaml", "--database", &url][..],
            &["apply", "-f", "other/clients.yaml", "--database", &url, "--auto-approve"][..],
        ] {
            let run = ws.run(cmd).fails();
            assert!(
                run.stderr.contains(
                    r#"table "customers" is managed by resource `customers`, and this spec's resource is `clients`"#
                ),
                "{}",
                run.stderr
            );
            assert!(run.stderr.contains("reconcile_tables"), "{}", run.stderr);
        }
        assert_eq!(rows(&ws, "customers", "id, name, contact_person, email"), before);
        // The resource that owns it goes on as before.
        let run = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(run["summary"]["update"], 1);

        // Both specs in one folder: refused before anything is planned.
        ws.write("specs/clients.yaml", &ws.read("other/clients.yaml"));
        let run = ws.run(&["plan", "-f", "specs"]).fails();
        assert!(run.stderr.contains("both target table \"customers\""), "{}", run.stderr);
        assert!(run.stderr.contains("resource `clients`"), "{}", run.stderr);
    }
}

/// A spec of `n` records with notes of about `size` bytes each, from a CSV.
fn wide_records(ws: &Workspace, n: usize, size: usize, variant: char) {
    let mut csv = String::from("id,name,notes\n");
    for i in 0..n {
        let notes: String = std::iter::repeat_n(variant, size).collect();
        csv.push_str(&format!("{i},Firm number {i},{i} {notes}\n"));
    }
    ws.write("examples/wide.csv", &csv);
    ws.write(
        "specs/customers.yaml",
        r#"
version: 1
resource: firms
target:
  table: firms
  fields:
    name: { type: text, required: true }
    notes: { type: text }
sources:
  list:
    file: ../examples/wide.csv
    id: id
    fields: { name: name, notes: notes }
match:
  compare:
    name: { method: exact }
"#,
    );
}

on_each_backend! {
    /// 1,200 rows of 20 KB: 24 MB, more than MariaDB's 16 MB `max_allowed_packet` in one
    /// statement. Inserts, updates and state entries go in batches sized by bytes too.
    fn wide_rows_are_batched_by_bytes(ws) {
        wide_records(&ws, 1200, 20_000, 'a');
        let run = ws.run(&["apply", "--auto-approve"]).ok();
        assert!(run.stdout.contains("1,200 added") || run.stdout.contains("1200 added"), "{}", run.stdout);
        wide_records(&ws, 1200, 20_000, 'b');
        let run = ws.run(&["apply", "--auto-approve"]).ok();
        assert!(run.stdout.contains("1,200 changed") || run.stdout.contains("1200 changed"), "{}", run.stdout);
        let b = ws.query("SELECT count(*) FROM firms WHERE notes LIKE '%bbbb'");
        assert_eq!(b[0][0].as_deref(), Some("1200"));
        let again = ws.run(&["plan", "--refresh", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    }
}

/// A MySQL URL without a database is refused before anything is planned, with the fix.
#[test]
fn a_mysql_url_without_a_database_is_refused() {
    let ws = Workspace::seed();
    for url in [
        "mysql://root@127.0.0.1:3306",
        "mysql://root@127.0.0.1:3306/",
    ] {
        let run = ws.run(&["plan", "--database", url]).fails();
        assert!(
            run.stderr.contains("the URL names no database"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("e.g. mysql://root@127.0.0.1:3306/app"),
            "{}",
            run.stderr
        );
        assert!(!run.stdout.contains("will be created"), "{}", run.stdout);
    }
}

on_each_backend! {
    /// A one-word name of 300 characters: its address is cut to fit the state table, so the
    /// plan applies, and the next plan has nothing to do.
    fn a_very_long_one_word_name_gets_an_address_that_fits(ws) {
        let word = "w".repeat(300);
        ws.write(
            "specs/customers.yaml",
            &format!(
                r#"
version: 1
resource: firms
target:
  table: firms
  fields:
    name: {{ type: text, required: true }}
sources:
  list:
    id: id
    fields: {{ name: name }}
    inline:
      - {{ id: 1, name: "{word}" }}
      - {{ id: 2, name: "{word}" }}
"#
            ),
        );
        let json = ws.run(&["plan", "--json"]).ok().json();
        let addresses: Vec<String> = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["address"].as_str().unwrap().to_string())
            .collect();
        let short = "w".repeat(100);
        assert_eq!(
            addresses,
            [format!("firms[\"{short}\"]"), format!("firms[\"{short}-2\"]")]
        );
        ws.run(&["apply", "--auto-approve"]).ok();
        let names = ws.query("SELECT name FROM firms");
        assert_eq!(names, vec![vec![Some(word.clone())], vec![Some(word)]]);
        let again = ws.run(&["plan", "--refresh", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    }
}

/// A saved plan with nothing to do, applied after another apply changed the table: refused
/// as stale, naming the row. Applied while still current, it counts the records up to date.
#[test]
fn a_saved_plan_without_changes_is_refused_when_stale() {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.run(&["plan", "--out", "nothing.json"]).ok();
    let run = ws.run(&["apply", "nothing.json"]).ok();
    assert!(
        run.stdout
            .contains("No changes. The database matches the spec (17 records up to date)."),
        "{}",
        run.stdout
    );

    let file = "examples/customers/production_seeding.json";
    let original = ws.read(file);
    ws.edit(file, "suncity@maltos.co.za", "orders@maltos.co.za");
    ws.run(&["apply", "--auto-approve"]).ok();
    // The sources are as they were when the plan was made; the table is not.
    ws.write(file, &original);
    let run = ws.run(&["apply", "nothing.json"]).fails();
    assert!(run.stderr.contains("the plan is stale"), "{}", run.stderr);
    assert!(
        run.stderr.contains(r#"customers["maltos-sun-city"] email"#),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("No changes"), "{}", run.stdout);
}
